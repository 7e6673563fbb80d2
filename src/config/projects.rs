//! `projects.csv`: the measures that take groundwater off a county — closures of 自备井 (任务66),
//! substitution by surface water (任务67, the projects of 任务40) and savings — with the intakes
//! each affects, the annual volume it replaces, when it starts and how far it has got.
//!
//! ```text
//! project,county_code,kind,intakes,annual_m3,start,status,done
//! 清徐县地下水置换晋祠泉保护治理工程,140121,substitution,QX-0001;QX-0002,3000000,2026-07-01,building,
//! ```
//!
//! A planned or building project counts with its declared volume from its start; a done one
//! with what the meters show (the plan measures it).

use jiff::civil::Date;
use serde::Deserialize;

use super::csv_file;
use super::registry::{Registry, RegistryError};
use crate::domain::CountyCode;

/// The columns of projects.csv, as error messages list them.
pub const PROJECT_COLUMNS: &[&str] = &[
    "project",
    "county_code",
    "kind",
    "intakes",
    "annual_m3",
    "start",
    "status",
    "done",
];

/// What a project does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectKind {
    /// 自备井 closed and sealed (任务66).
    Closure,
    /// Groundwater replaced by surface or transferred water (任务67).
    Substitution,
    /// Less pumped: water saving, irrigation changes.
    Saving,
}

/// How far a project has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectStatus {
    Planned,
    Building,
    Done,
}

/// One row of projects.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub name: String,
    pub county: CountyCode,
    pub kind: ProjectKind,
    /// The intakes it closes or replaces (none for a saving).
    pub intakes: Vec<String>,
    /// Groundwater it takes off per year, m³, as declared.
    pub annual_m3: f64,
    pub start: Date,
    pub status: ProjectStatus,
    /// The day it was finished (status `done` only).
    pub done: Option<Date>,
}

#[derive(Deserialize)]
struct RawProject {
    project: String,
    county_code: String,
    kind: String,
    #[serde(default)]
    intakes: String,
    annual_m3: String,
    start: String,
    status: String,
    #[serde(default)]
    done: String,
}

fn kind(s: &str) -> Result<ProjectKind, String> {
    match s {
        "closure" => Ok(ProjectKind::Closure),
        "substitution" => Ok(ProjectKind::Substitution),
        "saving" => Ok(ProjectKind::Saving),
        _ => Err(format!("'{s}': expected closure|substitution|saving")),
    }
}

fn status(s: &str) -> Result<ProjectStatus, String> {
    match s {
        "planned" => Ok(ProjectStatus::Planned),
        "building" => Ok(ProjectStatus::Building),
        "done" => Ok(ProjectStatus::Done),
        _ => Err(format!("'{s}': expected planned|building|done")),
    }
}

fn date(s: &str, what: &str) -> Result<Date, String> {
    s.parse::<Date>()
        .map_err(|_| format!("'{s}': expected {what} as YYYY-MM-DD, e.g. 2026-07-01"))
}

fn volume(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            format!("'{s}': expected the groundwater replaced per year in m³, digits only, above 0 (3000000, not 300万)")
        })
}

/// Reads projects.csv against the registry and the configured counties: every problem is named
/// with its line, field and how to fix it.
pub fn parse(
    file: &str,
    text: &str,
    registry: &Registry,
    counties: &[CountyCode],
) -> Result<Vec<Project>, RegistryError> {
    let mut out = Vec::new();
    let problems = csv_file::read_rows(file, text, PROJECT_COLUMNS, |p, line, r: RawProject| {
        if r.project.is_empty() {
            p.push(
                line,
                "project",
                "empty: give the project's name as the plan writes it",
            );
        }
        let county = p.check(
            line,
            "county_code",
            CountyCode::parse(&r.county_code)
                .filter(|c| counties.contains(c))
                .ok_or_else(|| {
                    format!(
                        "'{}': expected the six-digit code of a county in the configuration, e.g. 140121",
                        r.county_code
                    )
                }),
        );
        let kind = p.check(line, "kind", kind(&r.kind));
        let intakes: Vec<String> = r
            .intakes
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for id in &intakes {
            if registry.intake(id).is_none() {
                p.push(
                    line,
                    "intakes",
                    format!("'{id}' is not an intake in intakes.csv: list it there, or correct the id (ids are separated by ';')"),
                );
            }
        }
        if matches!(kind, Some(ProjectKind::Closure | ProjectKind::Substitution))
            && intakes.is_empty()
        {
            p.push(
                line,
                "intakes",
                "empty: a closure or substitution names the intakes it affects, separated by ';'",
            );
        }
        let annual = p.check(line, "annual_m3", volume(&r.annual_m3));
        let start = p.check(line, "start", date(&r.start, "the planned start"));
        let status = p.check(line, "status", status(&r.status));
        let done = if r.done.is_empty() {
            if status == Some(ProjectStatus::Done) {
                p.push(
                    line,
                    "done",
                    "empty: a project with status done gives the day it was finished",
                );
            }
            Some(None)
        } else {
            let d = p.check(line, "done", date(&r.done, "the day it was finished"));
            if let (Some(d), Some(s)) = (d, status)
                && s != ProjectStatus::Done
            {
                p.push(
                    line,
                    "done",
                    format!("{d} given for a project that is not done: set status to done, or leave done empty"),
                );
            }
            if let (Some(d), Some(s)) = (d, start)
                && d < s
            {
                p.push(line, "done", format!("{d} is before the start {s}"));
            }
            d.map(Some)
        };
        if let (Some(county), Some(kind), Some(annual_m3), Some(start), Some(status), Some(done)) =
            (county, kind, annual, start, status, done)
        {
            out.push(Project {
                name: r.project,
                county,
                kind,
                intakes,
                annual_m3,
                start,
                status,
                done,
            });
        }
    });
    let problems = problems.into_vec();
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(RegistryError(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::registry::tests::HEAD;

    const PROJECTS_HEAD: &str = "project,county_code,kind,intakes,annual_m3,start,status,done\n";

    fn registry() -> Registry {
        crate::config::registry::tests::parse_both(
            &format!("{HEAD}QX-1,a,140121,county,shallow,groundwater,industry,50000,,no\n"),
            crate::config::registry::tests::WELLS,
        )
        .unwrap()
    }

    fn run(rows: &str) -> Result<Vec<Project>, String> {
        let counties = [CountyCode::parse("140121").unwrap()];
        parse(
            "projects.csv",
            &format!("{PROJECTS_HEAD}{rows}"),
            &registry(),
            &counties,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn projects_are_read_with_their_intakes_and_progress() {
        let p = run("置换工程,140121,substitution,QX-1,3000000,2026-07-01,done,2026-09-30\n节水,140121,saving,,50000,2027-01-01,planned,\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, ProjectKind::Substitution);
        assert_eq!(p[0].intakes, ["QX-1"]);
        assert_eq!(p[0].done, Some("2026-09-30".parse().unwrap()));
        assert_eq!(p[1].status, ProjectStatus::Planned);
        assert!(p[1].intakes.is_empty());
    }

    #[test]
    fn every_bad_field_is_named_with_its_line_and_fix() {
        let e = run("关井,140199,closure,QX-9,300万,2026-7-1,finished,\n置换,140121,substitution,,1000,2026-07-01,building,2026-08-01\n").unwrap_err();
        for want in [
            "projects.csv line 2, field county_code: '140199': expected the six-digit code of a county",
            "line 2, field intakes: 'QX-9' is not an intake in intakes.csv",
            "line 2, field annual_m3: '300万': expected the groundwater replaced per year in m³",
            "line 2, field start: '2026-7-1': expected the planned start as YYYY-MM-DD",
            "line 2, field status: 'finished': expected planned|building|done",
            "line 3, field intakes: empty: a closure or substitution names the intakes",
            "line 3, field done: 2026-08-01 given for a project that is not done",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
    }
}
