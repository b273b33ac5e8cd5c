"""sections.text becomes the text annotations count in: the textContent of sections.html

Revision ID: 0011_anchors
Revises: 0010_db
Create Date: 2026-12-07 09:00:00.000000

Annotation offsets were always counted in the textContent of a section's rendered HTML, while
``sections.text`` held a normalised plain text (paragraphs joined by blank lines, spaces
collapsed): slicing it at an anchor's offsets could give other words. ``text`` is now
``consult.core.text.section_text(body)``, which is the textContent of the stored ``html``, so
it is recomputed here from ``html`` (anchors keep their offsets). The parser is copied, not
imported, so that this migration means the same thing whatever the code becomes.
"""

from html.parser import HTMLParser

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_anchors'
down_revision = '0010_db'
branch_labels = None
depends_on = None

sections = sa.table('sections', sa.column('id', sa.Integer), sa.column('html', sa.Text), sa.column('text', sa.Text))


class _TextContent(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def _text_content(html):
    parser = _TextContent()
    parser.feed(html or "")
    parser.close()
    return "".join(parser.parts)


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(sections.c.id, sections.c.html, sections.c.text)).all()
    for section_id, html, text in rows:
        new = _text_content(html)
        if new != text:
            connection.execute(sections.update().where(sections.c.id == section_id).values(text=new))


def downgrade():
    pass  # the normalised text is derived from the Markdown body; nothing reads it back
