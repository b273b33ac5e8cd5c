"""The site's policies (terms, privacy, accessibility, cookies), agreement to them, and retention."""
