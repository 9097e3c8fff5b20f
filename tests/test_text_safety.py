"""User text is shown literally: Markdown images, links and HTML are escaped."""

from components.text_safety import escape_markdown


def test_images_links_and_html_are_escaped():
    assert escape_markdown("![x](http://h/i.png)") == r"\!\[x\]\(http\://h/i\.png\)"
    assert escape_markdown("<b>hi</b>") == r"\<b\>hi\</b\>"


def test_plain_names_only_gain_escapes_for_markdown_characters():
    assert escape_markdown("alcohol") == "alcohol"
    assert escape_markdown("wine_classifier") == r"wine\_classifier"
    assert escape_markdown("od280/od315") == "od280/od315"


def test_control_characters_are_replaced():
    assert escape_markdown("a\x00b\x1bc") == "a\ufffdb\ufffdc"
