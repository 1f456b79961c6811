//! Artifacts kept in memory by digest, so Kustomizations sharing a source revision download
//! and decode it once (upstream downloads and extracts it for every reconcile). The same
//! cache type holds the verified tarball bytes and the decoded file trees.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A small most-recently-used cache of verified artifacts keyed by digest: tarball bytes
/// (`Arc<[u8]>`, the default) or decoded trees (`Arc<ArtifactTree>`).
#[derive(Debug)]
pub struct ArtifactCache<T = Arc<[u8]>> {
    capacity: usize,
    entries: Mutex<VecDeque<(String, T)>>,
}

impl<T: Clone> ArtifactCache<T> {
    /// A cache holding at most `capacity` artifacts (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The artifact with `digest`, marking it most recently used.
    pub fn get(&self, digest: &str) -> Option<T> {
        let mut entries = self.entries.lock().ok()?;
        let index = entries.iter().position(|(d, _)| d == digest)?;
        let entry = entries.remove(index)?;
        let bytes = entry.1.clone();
        entries.push_front(entry);
        Some(bytes)
    }

    /// Stores a verified artifact under `digest`, evicting the least recently used entry.
    pub fn insert(&self, digest: &str, bytes: T) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(d, _)| d != digest);
            entries.push_front((digest.to_string(), bytes));
            entries.truncate(self.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used() {
        let cache: ArtifactCache = ArtifactCache::new(2);
        cache.insert("a", Arc::from(&b"1"[..]));
        cache.insert("b", Arc::from(&b"2"[..]));
        assert_eq!(cache.get("a").as_deref(), Some(&b"1"[..]));
        cache.insert("c", Arc::from(&b"3"[..]));
        assert!(cache.get("b").is_none(), "least recently used is evicted");
        assert!(cache.get("a").is_some());
        assert!(cache.get("c").is_some());
        let off: ArtifactCache = ArtifactCache::new(0);
        off.insert("a", Arc::from(&b"1"[..]));
        assert!(off.get("a").is_none());
    }
}
