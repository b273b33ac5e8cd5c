"""Embeds: small views of a consultation, a section, an amendment and a statement for other
sites to put in an ``<iframe>`` (the only pages that may be framed), and their oEmbed answers."""
