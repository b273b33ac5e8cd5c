"""Atom feeds (the consultations, an organisation's, a consultation's activity, a person's public
contributions), the sitemap and robots.txt: what the public may see, for readers and crawlers."""
