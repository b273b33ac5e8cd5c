"""Users, organisations, memberships, sign-up/in/out."""
