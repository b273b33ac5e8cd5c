"""The outcome ("you said, we did"): what changed between the versions and why, the answers to
the amendments, the themes and summaries, and how many took part. Application layer: it asks
proposals, amendments, voting and moderation, and its blueprint shows it."""
