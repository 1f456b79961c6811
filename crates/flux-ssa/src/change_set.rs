//! Change sets: what an apply or a prune did to each object, in Flux's words.

use std::collections::BTreeMap;
use std::fmt;

use flux_object::ObjectId;

/// What happened to one object (Flux's `ssa.Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed (or its field managers were cleaned up).
    Configured,
    /// The object existed and applying it would change nothing.
    Unchanged,
    /// The object was deleted (or was already gone).
    Deleted,
    /// The object was left alone because of an annotation or label.
    Skipped,
    /// The outcome is not known (a delete failed).
    Unknown,
}

impl Action {
    /// The lower-case word Flux prints (`created`, `configured`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Skipped => "skipped",
            Action::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object's id (group, kind, namespace, name).
    pub id: ObjectId,
    /// The object's API version without the group (`v1`), as Flux's inventory stores it.
    pub version: String,
    /// `Kind/namespace/name` (or `Kind/name`), as Flux prints objects.
    pub subject: String,
    /// What happened.
    pub action: Action,
}

impl ChangeSetEntry {
    /// An entry for `id` at `version`.
    pub fn new(id: ObjectId, version: &str, action: Action) -> ChangeSetEntry {
        ChangeSetEntry {
            subject: id.to_string(),
            id,
            version: version.to_string(),
            action,
        }
    }

    /// `group/version` of the object (`apps/v1`, or `v1` for the core group).
    pub fn api_version(&self) -> String {
        if self.id.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.id.group, self.version)
        }
    }
}

/// `Kind/namespace/name action`, one line of Flux's change-set log.
impl fmt::Display for ChangeSetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.subject, self.action)
    }
}

/// The outcome of an apply or a prune, in the order the objects were processed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// One entry per object.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> ChangeSet {
        ChangeSet::default()
    }

    /// Adds one entry.
    pub fn add(&mut self, entry: ChangeSetEntry) {
        self.entries.push(entry);
    }

    /// Adds all entries of `other`.
    pub fn append(&mut self, other: ChangeSet) {
        self.entries.extend(other.entries);
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Subjects grouped by action (Flux's `ToGroupedMap`).
    pub fn to_grouped_map(&self) -> BTreeMap<Action, Vec<String>> {
        let mut grouped: BTreeMap<Action, Vec<String>> = BTreeMap::new();
        for entry in &self.entries {
            grouped
                .entry(entry.action)
                .or_default()
                .push(entry.subject.clone());
        }
        grouped
    }

    /// Action by subject (Flux's `ToMap`).
    pub fn to_map(&self) -> BTreeMap<String, Action> {
        self.entries
            .iter()
            .map(|e| (e.subject.clone(), e.action))
            .collect()
    }

    /// The action recorded for `id`, if any.
    pub fn action_of(&self, id: &ObjectId) -> Option<Action> {
        self.entries.iter().find(|e| &e.id == id).map(|e| e.action)
    }

    /// The entries whose action is not `unchanged` or `skipped`: what Flux reports in
    /// events (`Deployment/default/app configured`, one per line).
    pub fn changes(&self) -> ChangeSet {
        ChangeSet {
            entries: self
                .entries
                .iter()
                .filter(|e| !matches!(e.action, Action::Unchanged | Action::Skipped))
                .cloned()
                .collect(),
        }
    }
}

/// One `Kind/namespace/name action` line per entry.
impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_flux() {
        let mut set = ChangeSet::new();
        set.add(ChangeSetEntry::new(
            ObjectId::new("apps", "Deployment", "default", "app"),
            "v1",
            Action::Configured,
        ));
        set.add(ChangeSetEntry::new(
            ObjectId::new("", "Namespace", "", "team"),
            "v1",
            Action::Unchanged,
        ));
        assert_eq!(
            set.to_string(),
            "Deployment/default/app configured\nNamespace/team unchanged"
        );
        assert_eq!(
            set.changes().to_string(),
            "Deployment/default/app configured"
        );
        assert_eq!(set.entries[0].api_version(), "apps/v1");
        assert_eq!(set.entries[1].api_version(), "v1");
        let grouped = set.to_grouped_map();
        assert_eq!(
            grouped[&Action::Unchanged],
            vec!["Namespace/team".to_string()]
        );
    }
}
