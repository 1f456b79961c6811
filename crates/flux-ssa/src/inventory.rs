//! Inventory: the set of objects an applier manages (`status.inventory.entries`: Flux
//! inventory ids plus versions), built from change sets and diffed old against new to find
//! stale objects to prune.

use std::collections::BTreeSet;

use flux_api::meta::{ResourceInventory, ResourceRef};
use flux_object::{InventoryIdError, ObjectId};

use crate::change_set::{ChangeSet, ChangeSetEntry};

/// An object id with the version it was applied at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionedId {
    /// Group, kind, namespace and name.
    pub id: ObjectId,
    /// API version without the group (`v1`).
    pub version: String,
}

impl VersionedId {
    /// An id at a version.
    pub fn new(id: ObjectId, version: &str) -> VersionedId {
        VersionedId {
            id,
            version: version.to_string(),
        }
    }

    /// `group/version` (or `version` for the core group).
    pub fn api_version(&self) -> String {
        if self.id.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.id.group, self.version)
        }
    }
}

impl From<&ChangeSetEntry> for VersionedId {
    fn from(entry: &ChangeSetEntry) -> VersionedId {
        VersionedId::new(entry.id.clone(), &entry.version)
    }
}

/// Reading a stored inventory failed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// An entry's id is not `<namespace>_<name>_<group>_<kind>`.
    #[error("status.inventory.entries[{index}].id: {source}")]
    ParseId {
        /// Position of the entry.
        index: usize,
        /// Why the id is unreadable.
        #[source]
        source: InventoryIdError,
    },
    /// An entry has no version.
    #[error("status.inventory.entries[{index}].v: empty version for id {id:?}")]
    MissingVersion {
        /// Position of the entry.
        index: usize,
        /// The entry's id.
        id: String,
    },
}

/// The objects an applier manages, without duplicates, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    entries: Vec<VersionedId>,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// The inventory of the objects in a change set (every entry, including unchanged and
    /// skipped ones, as Flux records them).
    pub fn from_change_set(change_set: &ChangeSet) -> Inventory {
        let mut inventory = Inventory::new();
        inventory.add_change_set(change_set);
        inventory
    }

    /// Adds the objects of a change set.
    pub fn add_change_set(&mut self, change_set: &ChangeSet) {
        for entry in &change_set.entries {
            self.add(VersionedId::from(entry));
        }
    }

    /// Adds one object; an object already present gets the new version.
    pub fn add(&mut self, entry: VersionedId) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(existing) => existing.version = entry.version,
            None => self.entries.push(entry),
        }
    }

    /// The entries.
    pub fn entries(&self) -> &[VersionedId] {
        &self.entries
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the inventory is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is in the inventory.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.entries.iter().any(|e| &e.id == id)
    }

    /// The objects of `self` (the previous inventory) that are not in `next`: what a prune
    /// deletes. Ids are compared without versions.
    pub fn diff(&self, next: &Inventory) -> Vec<VersionedId> {
        let keep: BTreeSet<&ObjectId> = next.entries.iter().map(|e| &e.id).collect();
        self.entries
            .iter()
            .filter(|e| !keep.contains(&e.id))
            .cloned()
            .collect()
    }

    /// Reads `status.inventory` as stored by Flux.
    pub fn from_resource_inventory(
        stored: &ResourceInventory,
    ) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::new();
        for (index, entry) in stored.entries.iter().enumerate() {
            let id = ObjectId::parse_inventory_id(&entry.id)
                .map_err(|source| InventoryError::ParseId { index, source })?;
            if entry.v.is_empty() {
                return Err(InventoryError::MissingVersion {
                    index,
                    id: entry.id.clone(),
                });
            }
            inventory.add(VersionedId::new(id, &entry.v));
        }
        Ok(inventory)
    }

    /// `status.inventory` as Flux stores it: entries sorted by id.
    pub fn to_resource_inventory(&self) -> ResourceInventory {
        let mut entries: Vec<ResourceRef> = self
            .entries
            .iter()
            .map(|e| ResourceRef {
                id: e.id.inventory_id(),
                v: e.version.clone(),
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        ResourceInventory { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change_set::Action;

    fn entry(group: &str, kind: &str, ns: &str, name: &str, v: &str, a: Action) -> ChangeSetEntry {
        ChangeSetEntry::new(ObjectId::new(group, kind, ns, name), v, a)
    }

    #[test]
    fn diff_finds_stale_objects_and_round_trips() {
        let old = Inventory::from_change_set(&ChangeSet {
            entries: vec![
                entry("", "Namespace", "", "team", "v1", Action::Created),
                entry("apps", "Deployment", "team", "app", "v1", Action::Created),
                entry("", "ConfigMap", "team", "settings", "v1", Action::Created),
                entry(
                    "rbac.authorization.k8s.io",
                    "ClusterRole",
                    "",
                    "a:b",
                    "v1",
                    Action::Created,
                ),
            ],
        });
        let new = Inventory::from_change_set(&ChangeSet {
            entries: vec![
                entry("", "Namespace", "", "team", "v1", Action::Unchanged),
                entry(
                    "apps",
                    "Deployment",
                    "team",
                    "app",
                    "v1",
                    Action::Configured,
                ),
            ],
        });
        let stale: Vec<String> = old.diff(&new).iter().map(|e| e.id.to_string()).collect();
        assert_eq!(stale, ["ConfigMap/team/settings", "ClusterRole/a:b"]);
        assert!(new.diff(&old).is_empty());

        let stored = old.to_resource_inventory();
        let ids: Vec<&str> = stored.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "_a__b_rbac.authorization.k8s.io_ClusterRole",
                "_team__Namespace",
                "team_app_apps_Deployment",
                "team_settings__ConfigMap",
            ]
        );
        let back = Inventory::from_resource_inventory(&stored).expect("parses");
        assert_eq!(back.len(), 4);
        assert!(back.contains(&ObjectId::new(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "",
            "a:b"
        )));
    }

    #[test]
    fn bad_stored_entries_are_errors() {
        let bad = ResourceInventory {
            entries: vec![ResourceRef {
                id: "nounderscores".into(),
                v: "v1".into(),
            }],
        };
        let err = Inventory::from_resource_inventory(&bad).expect_err("bad id");
        assert!(
            err.to_string()
                .starts_with("status.inventory.entries[0].id"),
            "{err}"
        );
        let no_version = ResourceInventory {
            entries: vec![ResourceRef {
                id: "default_app_apps_Deployment".into(),
                v: String::new(),
            }],
        };
        assert!(matches!(
            Inventory::from_resource_inventory(&no_version),
            Err(InventoryError::MissingVersion { index: 0, .. })
        ));
    }
}
