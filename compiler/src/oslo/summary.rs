//! The summary printed after an import: counts per class, reasons, refusals.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::*;

impl Import {
    /// Counts per class: (imported, of which stricter, refused).
    pub fn counts_by_class(&self) -> BTreeMap<String, (usize, usize, usize)> {
        let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        for record in self.records() {
            let entry = counts.entry(record.class.clone()).or_default();
            if record.is_imported() {
                entry.0 += 1;
                if !record.stricter().is_empty() {
                    entry.1 += 1;
                }
            } else {
                entry.2 += 1;
            }
        }
        counts
    }

    /// The summary printed on stderr at the end.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let total = self.records().count();
        let imported = self.records().filter(|r| r.is_imported()).count();
        let stricter = self.records().filter(|r| !r.stricter().is_empty()).count();
        let refused = total - imported;
        let _ = writeln!(
            out,
            "import-oslo: read {}{} filter file(s); files in a directory are taken in name order (oslo: directory order)",
            if self.conf.is_some() { "1 rootwrap.conf and " } else { "" },
            self.files.len()
        );
        let _ = writeln!(
            out,
            "import-oslo: {total} filter(s): {imported} imported ({stricter} with a stricter meaning than oslo), {refused} refused"
        );
        let counts = self.counts_by_class();
        if !counts.is_empty() {
            let _ = writeln!(
                out,
                "  {:<24} {:>8} {:>8} {:>8}",
                "class", "imported", "stricter", "refused"
            );
            for (class, (i, s, r)) in &counts {
                let shown = if class.is_empty() { "(none)" } else { class };
                let _ = writeln!(out, "  {shown:<24} {i:>8} {s:>8} {r:>8}");
            }
        }
        let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
        for record in self.records() {
            for category in record.stricter() {
                *by_category.entry(category.name()).or_default() += 1;
            }
        }
        if !by_category.is_empty() {
            let list: Vec<String> = by_category
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let _ = writeln!(out, "  stricter, by reason: {}", list.join(", "));
        }
        if refused > 0 {
            let _ = writeln!(out, "  refused:");
            for record in self.records() {
                if let Outcome::Refused(refusal) = &record.outcome {
                    let _ = writeln!(
                        out,
                        "    {}:{} {} ({}): {}: {}",
                        record.file,
                        record.line,
                        record.oslo_name,
                        if record.class.is_empty() {
                            "no class"
                        } else {
                            &record.class
                        },
                        refusal.category,
                        refusal.reason
                    );
                }
            }
        }
        let warnings: Vec<String> = self
            .warnings
            .iter()
            .cloned()
            .chain(self.records().flat_map(|r| {
                r.warnings
                    .iter()
                    .map(move |w| format!("{}:{} {}: {w}", r.file, r.line, r.oslo_name))
            }))
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(out, "  warnings:");
            for warning in warnings {
                let _ = writeln!(out, "    {}", warning.replace('\n', " "));
            }
        }
        match &self.privsep_helper {
            Some(name) => {
                let _ = writeln!(
                    out,
                    "  oslo's implicit privsep-helper rule is written out as `{name}` ({})",
                    self.privsep_file
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  oslo's implicit privsep-helper rule is left out: calls to privsep-helper that oslo allowed are refused"
                );
            }
        }
        out
    }
}

pub(super) fn short_name(display: &str) -> String {
    Path::new(display)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.to_string())
}
