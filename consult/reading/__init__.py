"""The reading page: a consultation's text as a reader sees it, with what people said on it
(highlights, counts, amendments, votes, citations). Application layer: it asks the domains
(comments, amendments, voting) and the page's view renders what it gets."""
