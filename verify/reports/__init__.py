"""The report writers: one module per format (`markdown`, `latex`, `html`, `pdf`, `json_report`), the rows
they share (`rows`, `verdicts`), the front page (`front_page`) and the notation (`notation`).
`verify.report.write_all` writes a run's folder with them."""

__all__: list[str] = []
