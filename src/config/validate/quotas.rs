//! The quota sections: each version's budgets and county quotas, and the versions in sequence.

use super::*;

impl Checks<'_> {
    /// `[[quota_version]]`: each version on its own, then the versions together, sorted by
    /// `effective_from`.
    pub(super) fn quota_versions(
        &mut self,
        raw: &[Spanned<RawQuotaVersion>],
        counties: &[County],
        budgets: &Budgets,
    ) -> Vec<QuotaVersion> {
        let mut versions: Vec<(Option<usize>, QuotaVersion)> = raw
            .iter()
            .map(|sv| {
                let line = self.line_of(sv.span());
                (
                    line,
                    self.quota_version(line, sv.get_ref(), counties, budgets),
                )
            })
            .collect();
        versions.sort_by_key(|(_, v)| v.effective_from);
        self.quota_sequence(&versions);
        if versions.is_empty() {
            self.invalid(
                None,
                "no [[quota_version]]: give at least one set of county quotas".into(),
            );
        }
        versions.into_iter().map(|(_, v)| v).collect()
    }

    /// One version: a quota for every configured county and no other, within the counties'
    /// budget.
    pub(super) fn quota_version(
        &mut self,
        line: Option<usize>,
        v: &RawQuotaVersion,
        counties: &[County],
        budgets: &Budgets,
    ) -> QuotaVersion {
        let from = v.effective_from;
        let county_m3 = self.county_quotas(line, v, counties);
        let sum: f64 = county_m3.values().sum();
        if sum > budgets.counties_m3 + 0.5 {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective {from}: county quotas sum to {:.0} m³ ({:.1}万), above the counties' budget of {:.0} m³ ({:.1}万)",
                    sum,
                    sum / 1e4,
                    budgets.counties_m3,
                    budgets.counties_m3 / 1e4
                ),
            );
        }
        if let Some(until) = v.effective_until
            && until <= from
        {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective_until {until} is not after effective_from {from}"
                ),
            );
        }
        QuotaVersion {
            effective_from: from,
            effective_until: v.effective_until,
            example: v.example,
            note: v.note.clone(),
            county_m3,
        }
    }

    /// A version's `county_m3`: volumes ≥ 0, keyed by configured counties, none missing.
    pub(super) fn county_quotas(
        &mut self,
        line: Option<usize>,
        v: &RawQuotaVersion,
        counties: &[County],
    ) -> BTreeMap<CountyCode, f64> {
        let from = v.effective_from;
        let mut county_m3 = BTreeMap::new();
        for (k, &m3) in &v.county_m3 {
            let Some(code) =
                CountyCode::parse(k).filter(|code| counties.iter().any(|c| c.code == *code))
            else {
                let known: Vec<String> = counties.iter().map(|c| c.code.to_string()).collect();
                self.invalid(
                    line,
                    format!(
                        "[[quota_version]] effective {from}: county_m3 has unknown county code '{k}'; valid codes: {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if !(m3.is_finite() && m3 >= 0.0) {
                self.invalid(
                    line,
                    format!(
                        "[[quota_version]] effective {from}: county_m3.{k} = {m3}: expected a volume ≥ 0 in m³"
                    ),
                );
            }
            county_m3.insert(code, m3);
        }
        for c in counties.iter().filter(|c| !county_m3.contains_key(&c.code)) {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective {from}: no quota for {} {} (add county_m3.{} = <m³>)",
                    c.code, c.name, c.code
                ),
            );
        }
        county_m3
    }

    /// Versions sorted by `effective_from`: no two on one day, none running into the next, and
    /// no days between one that ends and the next (such a day would count zero in its year).
    pub(super) fn quota_sequence(&mut self, versions: &[(Option<usize>, QuotaVersion)]) {
        for w in versions.windows(2) {
            let (line_a, a) = &w[0];
            let (line_b, b) = &w[1];
            let at =
                |line: &Option<usize>| line.map(|l| format!(" (line {l})")).unwrap_or_default();
            if a.effective_from == b.effective_from {
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] two versions take effect on {}: give each version its own effective_from",
                        a.effective_from
                    ),
                );
            } else if let Some(until) = a.effective_until
                && until > b.effective_from
            {
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] effective {} overlaps the version effective {}{} (which runs until {until}): end the earlier one on or before {}",
                        b.effective_from,
                        a.effective_from,
                        at(line_a),
                        b.effective_from
                    ),
                );
            } else if let Some(until) = a.effective_until
                && until < b.effective_from
            {
                let last = b.effective_from.yesterday().unwrap_or(b.effective_from);
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] effective {} leaves a hole after the version effective {}{}, which ends before {until}: no county has a quota from {until} to {last}; set effective_until = {} in the earlier version (or remove it), or effective_from = {until} in this one",
                        b.effective_from,
                        a.effective_from,
                        at(line_a),
                        b.effective_from
                    ),
                );
            }
        }
    }
}
