"""Mail: building messages (message.py), sending them with interchangeable backends
(transport.py) and the links they carry (links.py). Callers use this package's names.

MAIL_BACKEND chooses: "console" (print, the default for a new install),
"smtp" (a real server) or "memory" (kept in a list, for tests).

Messages are plain text, plus an HTML alternative when templates/email/<name>.html
exists. User text reaches headers only through `one_line()`.
"""

from .links import absolute_url, url_for_mail
from .message import as_bytes, build_message, one_line
from .transport import Connection, connection, deliver, deliver_after_response, outbox, send

__all__ = [
    "Connection",
    "absolute_url",
    "as_bytes",
    "build_message",
    "connection",
    "deliver",
    "deliver_after_response",
    "one_line",
    "outbox",
    "send",
    "url_for_mail",
]
