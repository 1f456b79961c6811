//! Which controllers `--controllers` asks for, and which of those exist yet.

/// Every controller name `--controllers` accepts (besides `all`), in start order.
pub const ALL_NAMES: &[&str] = &[
    "source",
    "kustomize",
    "helm",
    "notification",
    "image",
    "watcher",
];

/// A controller fluxd can run today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Controller {
    /// source-controller (GitRepository).
    Source,
    /// kustomize-controller (Kustomization).
    Kustomize,
}

impl Controller {
    /// The name used by `--controllers`.
    pub fn flag_name(self) -> &'static str {
        match self {
            Controller::Source => "source",
            Controller::Kustomize => "kustomize",
        }
    }

    /// Upstream's controller name: the Event reporting controller, the field manager
    /// prefix and the leader-election Lease prefix.
    pub fn upstream_name(self) -> &'static str {
        match self {
            Controller::Source => "source-controller",
            Controller::Kustomize => "kustomize-controller",
        }
    }

    fn from_flag_name(name: &str) -> Option<Self> {
        match name {
            "source" => Some(Controller::Source),
            "kustomize" => Some(Controller::Kustomize),
            _ => None,
        }
    }
}

/// The implemented controllers, in start order.
pub const IMPLEMENTED: &[Controller] = &[Controller::Source, Controller::Kustomize];

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The controllers to start (deduplicated, in start order).
    pub run: Vec<Controller>,
    /// Requested (explicitly or through `all`) but not implemented yet.
    pub not_implemented: Vec<&'static str>,
}

/// Why `--controllers` cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// A name that is neither `all` nor a controller.
    #[error("invalid --controllers entry {entry:?}: must be all or one of {}", ALL_NAMES.join(","))]
    Unknown { entry: String },
    /// Only controllers that do not exist yet were asked for.
    #[error(
        "--controllers={requested}: not implemented yet in fluxd (implemented: {})",
        implemented_names()
    )]
    OnlyUnimplemented { requested: String },
}

fn implemented_names() -> String {
    IMPLEMENTED
        .iter()
        .map(|c| c.flag_name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Resolves the `--controllers` entries (already split on commas).
pub fn select(requested: &[String]) -> Result<Selection, SelectionError> {
    let mut wanted: Vec<&'static str> = Vec::new();
    for entry in requested {
        let entry = entry.trim();
        if entry == "all" {
            wanted.extend_from_slice(ALL_NAMES);
            continue;
        }
        match ALL_NAMES.iter().find(|n| **n == entry) {
            Some(name) => wanted.push(name),
            None => {
                return Err(SelectionError::Unknown {
                    entry: entry.to_string(),
                });
            }
        }
    }
    let mut run: Vec<Controller> = wanted
        .iter()
        .filter_map(|n| Controller::from_flag_name(n))
        .collect();
    run.sort();
    run.dedup();
    let mut not_implemented: Vec<&'static str> = ALL_NAMES
        .iter()
        .copied()
        .filter(|n| Controller::from_flag_name(n).is_none() && wanted.contains(n))
        .collect();
    not_implemented.dedup();
    if run.is_empty() {
        return Err(SelectionError::OnlyUnimplemented {
            requested: requested.join(","),
        });
    }
    Ok(Selection {
        run,
        not_implemented,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(list: &[&str]) -> Result<Selection, SelectionError> {
        select(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn all_runs_the_implemented_controllers_and_names_the_rest() {
        let s = sel(&["all"]).expect("valid");
        assert_eq!(s.run, vec![Controller::Source, Controller::Kustomize]);
        assert_eq!(
            s.not_implemented,
            vec!["helm", "notification", "image", "watcher"]
        );
    }

    #[test]
    fn subsets_are_deduplicated_and_ordered() {
        let s = sel(&["kustomize", "source", "kustomize"]).expect("valid");
        assert_eq!(s.run, vec![Controller::Source, Controller::Kustomize]);
        assert!(s.not_implemented.is_empty());
        let s = sel(&["kustomize"]).expect("valid");
        assert_eq!(s.run, vec![Controller::Kustomize]);
    }

    #[test]
    fn mixed_request_runs_the_implemented_part() {
        let s = sel(&["source", "helm"]).expect("valid");
        assert_eq!(s.run, vec![Controller::Source]);
        assert_eq!(s.not_implemented, vec!["helm"]);
    }

    #[test]
    fn only_unimplemented_is_an_error() {
        let err = sel(&["helm", "image"]).expect_err("nothing to run");
        assert_eq!(
            err.to_string(),
            "--controllers=helm,image: not implemented yet in fluxd (implemented: source,kustomize)"
        );
    }

    #[test]
    fn unknown_entry_is_an_error() {
        let err = sel(&["source", "bogus"]).expect_err("unknown");
        assert_eq!(
            err,
            SelectionError::Unknown {
                entry: "bogus".into()
            }
        );
        assert!(sel(&[""]).is_err());
    }
}
