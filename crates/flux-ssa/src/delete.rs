//! Prune: deleting objects that left the inventory.

use kube::api::DeleteParams;
use serde_json::Value;

use crate::change_set::{Action, ChangeSet, ChangeSetEntry};
use crate::cleanup::any_in_metadata;
use crate::inventory::VersionedId;
use crate::manager::{DeleteOptions, ResourceManager, reconcile_order};

/// One object that could not be deleted.
#[derive(Debug, thiserror::Error)]
#[error("{subject} {step} failed: {source}")]
pub struct DeleteFailure {
    /// `Kind/namespace/name`.
    pub subject: String,
    /// `query` or `delete`.
    pub step: &'static str,
    /// The client error.
    #[source]
    pub source: kube::Error,
}

/// A prune in which some deletions failed; the others were done.
#[derive(Debug, thiserror::Error)]
#[error("delete failed, errors: {}", failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct DeleteError {
    /// Entries of every object, failed ones with action `unknown`.
    pub change_set: ChangeSet,
    /// The failures.
    pub failures: Vec<DeleteFailure>,
}

impl ResourceManager {
    /// Deletes `objects` in reverse apply order (Flux's `DeleteAll`): an object already gone
    /// (or whose kind is no longer served) is `deleted`; one without all of
    /// `options.inclusions` among its labels (not ours) or with any of `options.exclusions`
    /// (`prune: disabled`) is `skipped`.
    pub async fn delete_all(
        &self,
        objects: &[VersionedId],
        options: &DeleteOptions,
    ) -> Result<ChangeSet, DeleteError> {
        let mut ordered: Vec<&VersionedId> = objects.iter().collect();
        ordered.sort_by(|a, b| reconcile_order(&b.id, &a.id));
        let mut change_set = ChangeSet::new();
        let mut failures = Vec::new();
        for object in ordered {
            match self.delete_one(object, options).await {
                Ok(action) => change_set.add(ChangeSetEntry::new(
                    object.id.clone(),
                    &object.version,
                    action,
                )),
                Err(failure) => {
                    change_set.add(ChangeSetEntry::new(
                        object.id.clone(),
                        &object.version,
                        Action::Unknown,
                    ));
                    failures.push(failure);
                }
            }
        }
        if failures.is_empty() {
            Ok(change_set)
        } else {
            Err(DeleteError {
                change_set,
                failures,
            })
        }
    }

    async fn delete_one(
        &self,
        object: &VersionedId,
        options: &DeleteOptions,
    ) -> Result<Action, DeleteFailure> {
        let subject = object.id.to_string();
        let Ok(resolved) = self.resolve(&object.api_version(), &object.id.kind).await else {
            return Ok(Action::Deleted);
        };
        let api = self.api(&resolved, &object.id.namespace);
        let existing = match api.get_opt(&object.id.name).await {
            Ok(Some(found)) => serde_json::to_value(found).unwrap_or(Value::Null),
            Ok(None) => return Ok(Action::Deleted),
            Err(source) => {
                return Err(DeleteFailure {
                    subject,
                    step: "query",
                    source,
                });
            }
        };
        let labels = existing
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let owned = options.inclusions.iter().all(|(k, v)| {
            labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str())
        });
        if !owned || any_in_metadata(&existing, &options.exclusions) {
            return Ok(Action::Skipped);
        }
        let params = DeleteParams {
            propagation_policy: Some(options.propagation_policy.clone()),
            ..DeleteParams::default()
        };
        match api.delete(&object.id.name, &params).await {
            Ok(_) => Ok(Action::Deleted),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::Deleted),
            Err(source) => Err(DeleteFailure {
                subject,
                step: "delete",
                source,
            }),
        }
    }
}
