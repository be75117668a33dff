//! Walks a whole `Store::scan`, for tests that compare the keyspace with a model.

use cairn_log::Store;

/// Every key the scan returns, in scan order (a key may appear twice).
pub fn scan_keys(store: &Store, page: usize) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let mut cursor = 0;
    loop {
        let found = store.scan(cursor, page).expect("scan");
        keys.extend(found.keys);
        cursor = found.cursor;
        if cursor == 0 {
            return keys;
        }
    }
}
