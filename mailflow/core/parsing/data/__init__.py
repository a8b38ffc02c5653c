"""Word lists the parser reads once at import: first names, job titles and departments, places."""
