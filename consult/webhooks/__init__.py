"""Webhooks: an organisation's registered addresses told, by signed HTTP POSTs sent from jobs,
when something happens in its consultations (a version published, a state changed, an
amendment answered, an outcome published)."""
