"""What every domain shares: the model base, permissions, text, errors, the CLI group."""
