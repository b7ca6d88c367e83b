//! A small HTML writer for the reports: escaped text, tables, figures and
//! one page with its style inline. The page loads nothing: its content
//! security policy forbids every fetch, so a report reads the same offline
//! and a reference to anything outside it would show as an error in a
//! browser's console.

use std::fmt::Write as _;

use crate::output::charts::Figure;

/// `s` with the characters HTML gives a meaning to escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page being written: its body, then `finish`.
#[derive(Debug, Default)]
pub struct Page {
    body: String,
}

/// The page's style: readable tables and charts that fit the window.
const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}\
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:0.85em;color:#555}pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}\
.warn{color:#a00}.muted{color:#666;font-size:0.9em}";

impl Page {
    /// A new, empty page.
    pub fn new() -> Self {
        Page::default()
    }

    /// A heading of level `level` (1–3).
    pub fn heading(&mut self, level: u8, text: &str) {
        let _ = writeln!(self.body, "<h{level}>{}</h{level}>", escape(text));
    }

    /// A paragraph of text, with an optional class.
    pub fn para(&mut self, text: &str, class: Option<&str>) {
        match class {
            Some(c) => {
                let _ = writeln!(self.body, "<p class=\"{c}\">{}</p>", escape(text));
            }
            None => {
                let _ = writeln!(self.body, "<p>{}</p>", escape(text));
            }
        }
    }

    /// Preformatted text, optionally folded under a summary line.
    pub fn pre(&mut self, text: &str, folded: Option<&str>) {
        if let Some(summary) = folded {
            let _ = write!(self.body, "<details><summary>{}</summary>", escape(summary));
        }
        let _ = write!(self.body, "<pre>{}</pre>", escape(text));
        if folded.is_some() {
            self.body.push_str("</details>");
        }
        self.body.push('\n');
    }

    /// A table with a header row; `id` names it for tests and links.
    pub fn table(&mut self, id: &str, header: &[&str], rows: &[Vec<String>]) {
        let _ = write!(self.body, "<table id=\"{}\"><thead><tr>", escape(id));
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", escape(h));
        }
        self.body.push_str("</tr></thead><tbody>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for cell in row {
                let _ = write!(self.body, "<td>{}</td>", escape(cell));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody></table>\n");
    }

    /// A chart, inline, with the PNG file it was also written to
    /// (`data-file`, relative to the report).
    pub fn figure(&mut self, folder: &str, fig: &Figure) {
        let file = format!("{folder}/{}", fig.file);
        let _ = writeln!(
            self.body,
            "<figure data-file=\"{}\">{}<figcaption>{}</figcaption></figure>",
            escape(&file),
            strip_prolog(&fig.svg).trim_end(),
            escape(&file)
        );
    }

    /// The whole document.
    pub fn finish(self, title: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head>\n<body>\n{}</body></html>\n",
            escape(title),
            self.body
        )
    }
}

/// An SVG document from its `<svg` element on: an XML declaration or
/// comment before it has no place inside HTML.
fn strip_prolog(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// A USD amount for a table: grouped thousands, no cents above 100.
pub fn usd(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() < 100.0 {
        return format!("{v:.2}");
    }
    let digits = format!("{:.0}", v.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if v < 0.0 {
        format!("−{grouped}")
    } else {
        grouped
    }
}

/// A count or a mean of counts.
pub fn count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A share as a percentage.
pub fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_read_well() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(usd(1234567.4), "1,234,567");
        assert_eq!(usd(-1000.0), "−1,000");
        assert_eq!(usd(100.0), "100");
        assert_eq!(usd(999.6), "1,000");
        assert_eq!(usd(12.345), "12.35");
        assert_eq!(count(3.0), "3");
        assert_eq!(count(2.5), "2.50");
        assert_eq!(pct(0.1234), "12.3%");
    }

    #[test]
    fn a_page_holds_its_tables_and_figures_and_loads_nothing() {
        let mut p = Page::new();
        p.heading(2, "a < b");
        p.table("t", &["name", "value"], &[vec!["x&y".into(), "1".into()]]);
        p.figure(
            "charts",
            &Figure {
                file: "a.png".into(),
                svg: "<?xml version=\"1.0\"?><svg width=\"1\"></svg>".into(),
            },
        );
        let html = p.finish("T");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<h2>a &lt; b</h2>"));
        assert!(html.contains("<td>x&amp;y</td>"));
        assert!(html.contains("<figure data-file=\"charts/a.png\"><svg width=\"1\"></svg>"));
        assert!(!html.contains("<?xml"));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("<script"));
    }
}
