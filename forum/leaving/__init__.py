"""Taking one's data and leaving: "Download my data" and "Delete my account"."""
