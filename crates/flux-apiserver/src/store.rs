//! Object storage: every object in memory (reads), a bounded event history (watch
//! resumption), and optionally a SQLite database in WAL mode (durability).
//!
//! One mutex orders all writes, so resourceVersions are a single global counter. A write
//! is acknowledged only after its SQLite transaction committed: with WAL and
//! `synchronous=NORMAL` the commit is in the WAL file before `write` returns, so a
//! `kill -9` of the server cannot lose it (power loss can lose the last commits; use
//! [`Durability::Full`] to fsync every commit).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::status::ApiError;

/// `(storage resource "group/plural", namespace or "", name)`.
pub type ObjectKey = (String, String, String);

/// Failures opening or reading the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("opening database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("preparing database schema in {path}: {source}")]
    Schema {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("loading objects from {path}: {source}")]
    Load {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("decoding stored object {resource} {namespace}/{name}: {source}")]
    Decode {
        resource: String,
        namespace: String,
        name: String,
        source: serde_json::Error,
    },
}

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL + `synchronous=NORMAL`: survives a process crash (`kill -9`).
    #[default]
    ProcessCrash,
    /// WAL + `synchronous=FULL`: fsync on every commit; survives power loss.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct StoredEvent {
    pub event_type: EventType,
    pub key: ObjectKey,
    pub rv: u64,
    /// The new state (for DELETED: the last state, carrying the deletion's RV).
    pub object: Arc<Value>,
    /// The state before this change, if any (for selector transitions in watches).
    pub previous: Option<Arc<Value>>,
    /// The object serialised once, shared by every watcher.
    pub json: OnceLock<bytes::Bytes>,
}

impl StoredEvent {
    /// The object as JSON (serialised on first use).
    pub fn object_json(&self) -> &bytes::Bytes {
        self.json.get_or_init(|| {
            bytes::Bytes::from(serde_json::to_vec(&*self.object).unwrap_or_default())
        })
    }
}

const HISTORY_LIMIT: usize = 20_000;
const BROADCAST_CAPACITY: usize = 16_384;

struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<Arc<StoredEvent>>,
    /// Every event with an RV above this is in `history`.
    history_floor: u64,
    db: Option<Connection>,
}

/// The object store.
pub struct Store {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<StoredEvent>>,
    path: Option<PathBuf>,
}

/// Where a watch starts.
pub enum WatchStart {
    /// Synthetic ADDED events for every current object, then changes.
    Snapshot,
    /// Only changes after this RV.
    After(u64),
}

/// The beginning of a watch: events to send first, then the live receiver.
pub struct WatchFeed {
    pub initial: Vec<Arc<StoredEvent>>,
    /// The RV the initial events bring the watcher to.
    pub rv: u64,
    pub receiver: broadcast::Receiver<Arc<StoredEvent>>,
}

fn set_resource_version(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

impl Store {
    /// A store that lives only in memory (tests).
    pub fn in_memory() -> Self {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Self {
            state: Mutex::new(State {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                history_floor: 1,
                db: None,
            }),
            events,
            path: None,
        }
    }

    /// Open (or create) `DIR/state.db` and load every object.
    pub fn open(dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("state.db");
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let sync = match durability {
            Durability::ProcessCrash => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous={sync};
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS objects (
                 resource TEXT NOT NULL,
                 namespace TEXT NOT NULL,
                 name TEXT NOT NULL,
                 rv INTEGER NOT NULL,
                 body TEXT NOT NULL,
                 PRIMARY KEY (resource, namespace, name)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT OR IGNORE INTO meta (key, value) VALUES ('resource_version', 1);"
        ))
        .map_err(|source| StoreError::Schema {
            path: path.clone(),
            source,
        })?;
        let rv: u64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'resource_version'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map_err(|source| StoreError::Load {
                path: path.clone(),
                source,
            })?
            .map_or(1, |v| u64::try_from(v).unwrap_or(1));
        let mut objects = BTreeMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT resource, namespace, name, body FROM objects")
                .map_err(|source| StoreError::Load {
                    path: path.clone(),
                    source,
                })?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
                .map_err(|source| StoreError::Load {
                    path: path.clone(),
                    source,
                })?;
            for row in rows {
                let (resource, namespace, name, body) = row.map_err(|source| StoreError::Load {
                    path: path.clone(),
                    source,
                })?;
                let value: Value =
                    serde_json::from_str(&body).map_err(|source| StoreError::Decode {
                        resource: resource.clone(),
                        namespace: namespace.clone(),
                        name: name.clone(),
                        source,
                    })?;
                objects.insert((resource, namespace, name), Arc::new(value));
            }
        }
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Ok(Self {
            state: Mutex::new(State {
                rv,
                objects,
                history: VecDeque::new(),
                history_floor: rv,
                db: Some(conn),
            }),
            events,
            path: Some(path),
        })
    }

    /// The database file, if durable.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn current_rv(&self) -> u64 {
        self.state.lock().rv
    }

    /// The oldest RV a watch can resume from.
    pub fn oldest_rv(&self) -> u64 {
        self.state.lock().history_floor
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.state.lock().objects.get(key).cloned()
    }

    /// Objects of one resource (in one namespace, or all), ordered by namespace and name,
    /// starting after `after` (a `(namespace, name)` continue position); plus the store RV.
    pub fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<&(String, String)>,
    ) -> (Vec<Arc<Value>>, u64) {
        let state = self.state.lock();
        let items = range(&state.objects, resource, namespace, after)
            .map(|(_, v)| v.clone())
            .collect();
        (items, state.rv)
    }

    /// One page of a list: up to `limit` objects matching `keep` after the `after`
    /// position, and how many more match beyond the page.
    pub fn list_page(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<&(String, String)>,
        limit: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> ListedPage {
        let state = self.state.lock();
        let mut items = Vec::new();
        let mut remaining = 0usize;
        for (_, obj) in range(&state.objects, resource, namespace, after) {
            if !keep(obj) {
                continue;
            }
            if items.len() < limit {
                items.push(obj.clone());
            } else {
                remaining += 1;
            }
        }
        ListedPage {
            items,
            remaining,
            rv: state.rv,
        }
    }

    /// Run `f` as one atomic write. Its changes are committed together (one DB
    /// transaction) and broadcast to watchers; if `f` fails, nothing is kept.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.state.lock();
        let start_rv = state.rv;
        let mut txn = Txn {
            state: &mut state,
            undo: Vec::new(),
            events: Vec::new(),
        };
        let result = f(&mut txn);
        let Txn { undo, events, .. } = txn;
        let outcome = match result {
            Ok(value) => match persist(&mut state, &events) {
                Ok(()) => Ok(value),
                Err(err) => Err(ApiError::internal(format!("storing the change: {err}"))),
            },
            Err(err) => Err(err),
        };
        if outcome.is_err() {
            for (key, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => state.objects.insert(key, v),
                    None => state.objects.remove(&key),
                };
            }
            state.rv = start_rv;
            return outcome;
        }
        for ev in events {
            state.history.push_back(ev.clone());
            if state.history.len() > HISTORY_LIMIT
                && let Some(dropped) = state.history.pop_front()
            {
                state.history_floor = dropped.rv;
            }
            // No receivers is not an error.
            let _ = self.events.send(ev);
        }
        outcome
    }

    /// Every committed change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.events.subscribe()
    }

    /// Start a watch of one resource.
    pub fn watch(&self, resource: &str, start: WatchStart) -> Result<WatchFeed, ApiError> {
        let state = self.state.lock();
        let receiver = self.events.subscribe();
        match start {
            WatchStart::Snapshot => {
                let initial = range(&state.objects, resource, None, None)
                    .map(|(key, obj)| {
                        Arc::new(StoredEvent {
                            event_type: EventType::Added,
                            key: key.clone(),
                            rv: resource_version_of(obj),
                            object: obj.clone(),
                            previous: None,
                            json: OnceLock::new(),
                        })
                    })
                    .collect();
                Ok(WatchFeed {
                    initial,
                    rv: state.rv,
                    receiver,
                })
            }
            WatchStart::After(rv) => {
                if rv < state.history_floor {
                    return Err(ApiError::expired(rv, state.history_floor));
                }
                let initial = state
                    .history
                    .iter()
                    .filter(|ev| ev.rv > rv && ev.key.0 == resource)
                    .cloned()
                    .collect();
                Ok(WatchFeed {
                    initial,
                    rv: state.rv.max(rv),
                    receiver,
                })
            }
        }
    }
}

fn resource_version_of(obj: &Value) -> u64 {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn range<'a>(
    objects: &'a BTreeMap<ObjectKey, Arc<Value>>,
    resource: &str,
    namespace: Option<&str>,
    after: Option<&(String, String)>,
) -> impl Iterator<Item = (&'a ObjectKey, &'a Arc<Value>)> {
    use std::ops::Bound;
    let start_ns = namespace.unwrap_or("").to_string();
    let lower = match after {
        Some((ns, name)) => Bound::Excluded((resource.to_string(), ns.clone(), name.clone())),
        None => Bound::Included((resource.to_string(), start_ns, String::new())),
    };
    let resource = resource.to_string();
    let namespace = namespace.map(str::to_string);
    objects
        .range((lower, Bound::Unbounded))
        .take_while(move |(k, _)| k.0 == resource && namespace.as_ref().is_none_or(|ns| &k.1 == ns))
}

fn persist(state: &mut State, events: &[Arc<StoredEvent>]) -> Result<(), rusqlite::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let rv = state.rv;
    let Some(db) = state.db.as_mut() else {
        return Ok(());
    };
    let tx = db.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO objects (resource, namespace, name, rv, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, body = excluded.body",
        )?;
        let mut delete = tx.prepare_cached(
            "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
        )?;
        for ev in events {
            let (r, ns, name) = &ev.key;
            match ev.event_type {
                EventType::Deleted => {
                    delete.execute(params![r, ns, name])?;
                }
                _ => {
                    let body = ev.object.to_string();
                    upsert.execute(params![r, ns, name, rv_i64(ev.rv), body])?;
                }
            }
        }
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'resource_version'")?
            .execute(params![rv_i64(rv)])?;
    }
    tx.commit()
}

fn rv_i64(rv: u64) -> i64 {
    i64::try_from(rv).unwrap_or(i64::MAX)
}

/// A page of [`Store::list_page`].
pub struct ListedPage {
    pub items: Vec<Arc<Value>>,
    pub remaining: usize,
    pub rv: u64,
}

/// One atomic write in progress.
pub struct Txn<'a> {
    state: &'a mut State,
    undo: Vec<(ObjectKey, Option<Arc<Value>>)>,
    events: Vec<Arc<StoredEvent>>,
}

impl Txn<'_> {
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.state.objects.get(key).cloned()
    }

    pub fn current_rv(&self) -> u64 {
        self.state.rv
    }

    /// Every object of every resource.
    pub fn all(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Value>)> {
        self.state.objects.iter()
    }

    /// Objects of a resource in a namespace (or all namespaces).
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<(ObjectKey, Arc<Value>)> {
        range(&self.state.objects, resource, namespace, None)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Store `value` under `key` with a fresh resourceVersion (ADDED or MODIFIED).
    pub fn put(&mut self, key: ObjectKey, mut value: Value) -> Arc<Value> {
        self.state.rv += 1;
        let rv = self.state.rv;
        set_resource_version(&mut value, rv);
        let value = Arc::new(value);
        let previous = self.state.objects.insert(key.clone(), value.clone());
        self.undo.push((key.clone(), previous.clone()));
        self.events.push(Arc::new(StoredEvent {
            event_type: if previous.is_some() {
                EventType::Modified
            } else {
                EventType::Added
            },
            key,
            rv,
            object: value.clone(),
            previous,
            json: OnceLock::new(),
        }));
        value
    }

    /// Remove `key`; returns the last state, carrying the deletion's resourceVersion.
    pub fn delete(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.state.objects.remove(key)?;
        self.state.rv += 1;
        let rv = self.state.rv;
        self.undo.push((key.clone(), Some(previous.clone())));
        let mut last = (*previous).clone();
        set_resource_version(&mut last, rv);
        let last = Arc::new(last);
        self.events.push(Arc::new(StoredEvent {
            event_type: EventType::Deleted,
            key: key.clone(),
            rv,
            object: last.clone(),
            previous: Some(previous),
            json: OnceLock::new(),
        }));
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjectKey {
        ("/configmaps".into(), "default".into(), name.into())
    }

    #[test]
    fn failed_write_keeps_nothing() {
        let store = Store::in_memory();
        let before = store.current_rv();
        let res: Result<(), ApiError> = store.write(|tx| {
            tx.put(key("a"), json!({"metadata": {"name": "a"}}));
            Err(ApiError::bad_request("no"))
        });
        assert!(res.is_err());
        assert_eq!(store.current_rv(), before);
        assert!(store.get(&key("a")).is_none());
    }

    #[test]
    fn durable_store_reloads_objects_and_rv() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let rv = {
            let store = Store::open(dir.path(), Durability::ProcessCrash)?;
            store.write(|tx| {
                tx.put(key("a"), json!({"metadata": {"name": "a"}}));
                tx.put(key("b"), json!({"metadata": {"name": "b"}}));
                tx.delete(&key("a"));
                Ok(())
            })?;
            store.current_rv()
        };
        let store = Store::open(dir.path(), Durability::ProcessCrash)?;
        assert_eq!(store.current_rv(), rv);
        assert!(store.get(&key("a")).is_none());
        let b = store.get(&key("b")).ok_or("b missing")?;
        assert_eq!(
            b["metadata"]["resourceVersion"],
            json!((rv - 1).to_string())
        );
        assert!(matches!(
            store.watch("/configmaps", WatchStart::After(1)),
            Err(e) if e.code == 410
        ));
        Ok(())
    }
}
