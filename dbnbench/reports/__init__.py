"""Pure functions from validated results to text: terminal tables, HTML, Markdown."""
