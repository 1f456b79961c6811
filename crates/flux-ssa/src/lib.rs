//! flux-ssa: Flux's resource manager (fluxcd/pkg `ssa`), through which every cluster write
//! of flux-rs goes.
//!
//! * [`ResourceManager::apply_all_staged`]: server-side apply in Flux's stages (cluster
//!   definitions, class definitions, custom kinds, the rest), after a server-side dry-run
//!   of the whole set, returning a [`ChangeSet`] (`created`, `configured`, `unchanged`,
//!   `skipped`); the `kustomize.toolkit.fluxcd.io/ssa` and `…/force` annotations, recreate
//!   on immutable-field errors, take-over of `kubectl` field managers (drift correction).
//! * [`Inventory`]: the managed objects (Flux inventory ids + versions) and the diff that
//!   gives stale objects; [`ResourceManager::delete_all`] prunes them, honouring
//!   `kustomize.toolkit.fluxcd.io/prune: disabled` and the owner labels.
//! * [`kstatus::compute`]: kstatus of one object (pure); [`HealthCheckExprs`]: custom CEL
//!   health checks; [`ResourceManager::wait_for_set`]: async polling with a timeout.

pub mod change_set;
pub mod cleanup;
pub mod delete;
pub mod drift;
pub mod health_expr;
pub mod inventory;
pub mod kstatus;
pub mod manager;
pub mod wait;

pub use change_set::{Action, ChangeSet, ChangeSetEntry};
pub use cleanup::{CleanupOptions, FieldManager, Operation};
pub use delete::{DeleteError, DeleteFailure};
pub use health_expr::{HealthCheckExpr, HealthCheckExprError, HealthCheckExprs};
pub use inventory::{Inventory, InventoryError, VersionedId};
pub use kstatus::{Status, StatusResult};
pub use manager::{
    ApplyError, ApplyOptions, DeleteOptions, DryRunFailure, Owner, ResourceManager,
    StagedApplyError, annotations, owner_labels, set_owner_labels,
};
pub use wait::{ObjectStatus, TerminationError, WaitError, WaitOptions};
