//! Arbitrary text given to every type's input function, as a client's literal or a bound
//! parameter reaches it: each must give a value or an error, never a panic. A value that
//! parses must print, and its printed form must read back as an equal value (the input and
//! output functions agree), for every type whose output is meant to be read back — and for
//! `oid`, `regclass` (a number, without the catalog) and arrays of every type.

#![no_main]

use cairn_sql::value::{DataType, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let arrays = DataType::ALL.into_iter().map(cairn_sql::array::of);
    let oids = [DataType::Oid, DataType::RegClass];
    for ty in DataType::ALL.into_iter().chain(oids).chain(arrays) {
        let Ok(value) = Value::parse(ty, &text) else {
            continue;
        };
        let printed = value.to_text().expect("a parsed value is not NULL");
        if ty == DataType::Json || ty == cairn_sql::array::of(DataType::Json) {
            // json has no equality; its value is its text, kept verbatim (a json array's
            // elements as they were, quoted or not: read again, they read the same).
            if ty == DataType::Json {
                assert_eq!(printed, text, "json keeps its input");
            }
            continue;
        }
        let again = Value::parse(ty, &printed)
            .unwrap_or_else(|e| panic!("{ty:?}: {text:?} printed as {printed:?}: {e}"));
        assert_eq!(
            again.compare(&value).expect("comparable"),
            Some(std::cmp::Ordering::Equal),
            "{ty:?}: {text:?} printed as {printed:?} read back as {again:?}"
        );
    }
});
