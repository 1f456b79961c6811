//! Downloaded artifacts kept in memory by digest, so Kustomizations sharing a source
//! revision download it once (upstream downloads it for every reconcile).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A small most-recently-used cache of verified artifact bytes keyed by digest.
#[derive(Debug)]
pub struct ArtifactCache {
    capacity: usize,
    entries: Mutex<VecDeque<(String, Arc<[u8]>)>>,
}

impl ArtifactCache {
    /// A cache holding at most `capacity` artifacts (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The bytes of the artifact with `digest`, marking it most recently used.
    pub fn get(&self, digest: &str) -> Option<Arc<[u8]>> {
        let mut entries = self.entries.lock().ok()?;
        let index = entries.iter().position(|(d, _)| d == digest)?;
        let entry = entries.remove(index)?;
        let bytes = entry.1.clone();
        entries.push_front(entry);
        Some(bytes)
    }

    /// Stores verified bytes under `digest`, evicting the least recently used entry.
    pub fn insert(&self, digest: &str, bytes: Arc<[u8]>) {
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
        let cache = ArtifactCache::new(2);
        cache.insert("a", Arc::from(&b"1"[..]));
        cache.insert("b", Arc::from(&b"2"[..]));
        assert_eq!(cache.get("a").as_deref(), Some(&b"1"[..]));
        cache.insert("c", Arc::from(&b"3"[..]));
        assert!(cache.get("b").is_none(), "least recently used is evicted");
        assert!(cache.get("a").is_some());
        assert!(cache.get("c").is_some());
        let off = ArtifactCache::new(0);
        off.insert("a", Arc::from(&b"1"[..]));
        assert!(off.get("a").is_none());
    }
}
