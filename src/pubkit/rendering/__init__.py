"""Render: Markdown to sanitised XHTML fragments, images and SVG made safe, the theme's templates."""
