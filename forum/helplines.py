"""The helplines a new installation starts with; admins edit them at /admin/helplines.

Checked in November 2026 against each service's own site. The last entry is a
placeholder for the operator's local services.
"""

DEFAULT_HELPLINES = [
    {
        "name": "Find A Helpline",
        "region": "Worldwide",
        "contact": "findahelpline.com",
        "url": "https://findahelpline.com",
        "description": "A directory of free, confidential crisis lines in more than 130 "
        "countries, searchable by country and topic.",
    },
    {
        "name": "Befrienders Worldwide",
        "region": "Worldwide",
        "contact": "befrienders.org",
        "url": "https://www.befrienders.org",
        "description": "Emotional support centres around the world for people in distress "
        "or at risk of suicide.",
    },
    {
        "name": "Samaritans",
        "region": "United Kingdom and Ireland",
        "contact": "Call 116 123 (free, any time)",
        "url": "https://www.samaritans.org",
        "description": "Someone to listen, day or night, whatever you are going through.",
    },
    {
        "name": "988 Suicide & Crisis Lifeline",
        "region": "United States",
        "contact": "Call or text 988",
        "url": "https://988lifeline.org",
        "description": "Free, confidential support for people in distress, 24 hours a day.",
    },
    {
        "name": "Lifeline",
        "region": "Australia",
        "contact": "Call 13 11 14",
        "url": "https://www.lifeline.org.au",
        "description": "Crisis support and suicide prevention, 24 hours a day.",
    },
    {
        "name": "Your local service",
        "region": "Add your area",
        "contact": "Emergency services: your local emergency number",
        "url": "",
        "description": "Placeholder: the team running this forum should replace this entry "
        "with local crisis lines and opening hours.",
    },
]
