"""What Consult holds about a person: downloading it, and erasing the account."""
