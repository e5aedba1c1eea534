"""Pure functions from records to rich renderables and Markdown/HTML/SVG/JSON text."""
