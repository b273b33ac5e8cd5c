"""Search: consultations, sections of the current text, visible contributions and published
theme summaries. The only package that imports whoosh.

``indexing`` sets the index up (``init_app``) and rebuilds it; ``services`` answers queries.

``CONSULT_SEARCH_BACKEND`` chooses the index: ``whoosh`` (default; a folder, ``SEARCH_DIR``,
shared by the processes of one machine) or ``postgres`` (PostgreSQL full-text search in the
database itself, for several app servers). Both sit behind the same interface and are kept
fresh by the session events of ``tracking``.
"""
