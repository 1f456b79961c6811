//! Ordering of merged lists, reproducing the order upstream produces: items named by the patch
//! in patch order, interleaved with server-only items in their live order.

use serde_json::Value;

use super::{Error, Kind, Path, map_merge_key, scalar_eq};

/// Remove duplicate scalars the way upstream does (swapping the last item into each hole).
pub(crate) fn deduplicate_scalars(s: &mut Vec<Value>) {
    let mut i = 0;
    while i + 1 < s.len() {
        let mut j = i + 1;
        while j < s.len() {
            if scalar_eq(&s[i], &s[j]) {
                s.swap_remove(j);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
}

/// Split into (items present in `by`, the rest), keeping order.
pub(crate) fn partition_primitives(items: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    items
        .into_iter()
        .partition(|v| by.iter().any(|b| scalar_eq(v, b)))
}

/// Split maps into (those whose merge key value appears in `by`, the rest).
pub(crate) fn partition_maps(
    items: Vec<Value>,
    by: &[Value],
    merge_key: &str,
    path: &Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut present = Vec::with_capacity(items.len());
    let mut rest = Vec::new();
    for v in items {
        let key = map_merge_key(&v, merge_key, path)?;
        let mut found = false;
        for b in by {
            let Value::Object(m) = b else {
                return Err(Error::WrongType {
                    path: path.render(),
                    expected: "an object",
                    found: super::kind_name(b),
                });
            };
            if m.get(merge_key).is_some_and(|k| scalar_eq(k, key)) {
                found = true;
                break;
            }
        }
        if found {
            present.push(v);
        } else {
            rest.push(v);
        }
    }
    Ok((present, rest))
}

/// Sort `patch` items by `patch_order`, server-only items by `server_order`, then interleave.
pub(crate) fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
    path: &Path<'_>,
) -> Result<Vec<Value>, Error> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind, path)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind, path)?;
    Ok(merge_sorted(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

fn sort_value<'v>(v: &'v Value, merge_key: &str, kind: Kind) -> Option<&'v Value> {
    if kind == Kind::Map {
        match v {
            Value::Object(m) => m.get(merge_key),
            _ => None,
        }
    } else {
        Some(v)
    }
}

/// Position of `v` in `list`, comparing merge key values for maps (missing == missing).
fn index(list: &[Value], v: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    let want = sort_value(v, merge_key, kind);
    list.iter()
        .position(|item| match (want, sort_value(item, merge_key, kind)) {
            (None, None) => true,
            (Some(a), Some(b)) => scalar_eq(a, b),
            _ => false,
        })
}

fn normalize_slice_order(
    mut to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
    path: &Path<'_>,
) -> Result<Vec<Value>, Error> {
    let mut to_delete = Vec::new();
    if kind == Kind::Map {
        for v in to_sort.iter().chain(order) {
            map_merge_key(v, merge_key, path)?;
        }
        let (keep, delete): (Vec<Value>, Vec<Value>) = to_sort
            .into_iter()
            .partition(|v| v.get(super::DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        to_sort = keep;
        to_delete = delete;
    }
    // Upstream's comparator: by position in `order` when both are found, else "less".
    let positions: Vec<Option<usize>> = to_sort
        .iter()
        .map(|v| index(order, v, merge_key, kind))
        .collect();
    let mut idx: Vec<usize> = (0..to_sort.len()).collect();
    go_stable_sort(&mut idx, |a, b| match (positions[*a], positions[*b]) {
        (Some(x), Some(y)) => x < y,
        _ => true,
    });
    let mut slots: Vec<Option<Value>> = to_sort.into_iter().map(Some).collect();
    let mut sorted: Vec<Value> = idx.into_iter().filter_map(|i| slots[i].take()).collect();
    sorted.extend(to_delete);
    Ok(sorted)
}

/// Insert server-only items (`left`) among patch items (`right`), keeping both relative orders
/// and using the live order where both items are known to it.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let left_pos: Vec<Option<usize>> = left
        .iter()
        .map(|v| index(server_order, v, merge_key, kind))
        .collect();
    let right_pos: Vec<Option<usize>> = right
        .iter()
        .map(|v| index(server_order, v, merge_key, kind))
        .collect();
    let size = left.len() + right.len();
    let mut out = Vec::with_capacity(size);
    let mut left = left.into_iter().zip(left_pos).peekable();
    let mut right = right.into_iter().zip(right_pos).peekable();
    for _ in 0..size {
        let take_left = match (left.peek(), right.peek()) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, Some(l))), Some((_, Some(r)))) => l < r,
            _ => false,
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((v, _)) = next {
            out.push(v);
        }
    }
    out
}

/// Go's `sort.SliceStable`: insertion sort on blocks of 20, then symmerge. Reproduced exactly
/// because upstream's comparator is not a strict weak order and the result depends on the
/// algorithm.
pub(crate) fn go_stable_sort<T>(data: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = data.len();
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(data, a, b, &mut less);
        a = b;
        b += block;
    }
    insertion_sort(data, a, n, &mut less);
    while block < n {
        let (mut a, mut b) = (0, 2 * block);
        while b <= n {
            sym_merge(data, a, a + block, b, &mut less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(data, a, m, n, &mut less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(data: &mut [T], a: usize, b: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&data[j], &data[j - 1]) {
            data.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sym_merge<T>(
    data: &mut [T],
    a: usize,
    m: usize,
    b: usize,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    if m - a == 1 {
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(&data[h], &data[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = a;
        while k + 1 < i {
            data.swap(k, k + 1);
            k += 1;
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(&data[m], &data[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            data.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&data[p - c], &data[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(data, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}

fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
    let mut i = m - a;
    let mut j = b - m;
    while i != j {
        if i > j {
            swap_range(data, m - i, m, j);
            i -= j;
        } else {
            swap_range(data, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(data, m - i, m, i);
}

fn swap_range<T>(data: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        data.swap(a + i, b + i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_sort_sorts_long_inputs_like_a_stable_sort() {
        let mut v: Vec<(u32, usize)> = (0..97).map(|i| ((i * 37 % 11) as u32, i)).collect();
        let mut expected = v.clone();
        expected.sort_by_key(|x| x.0);
        go_stable_sort(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, expected);
    }

    #[test]
    fn deduplicate_moves_last_into_holes() {
        let mut v = vec![
            Value::from("a"),
            Value::from("b"),
            Value::from("a"),
            Value::from("c"),
        ];
        deduplicate_scalars(&mut v);
        assert_eq!(
            v,
            vec![Value::from("a"), Value::from("b"), Value::from("c")]
        );
    }
}
