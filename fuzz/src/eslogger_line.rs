//! `eslogger_line`: arbitrary text, split into lines → one `Mapper`, so forks, execs and exits build
//! up and evict process-table entries across lines (the table is kept small to reach eviction).

use eslogger::{Mapper, MapperOptions};

/// Panics when the mapper panics.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut mapper = Mapper::new(MapperOptions {
        host_id: "5D7C2A4E-9B1F-5E3A-8C6D-2F4B1A0E9C77".to_string(),
        host_name: Some("fuzz-mac".to_string()),
        host_os_version: Some("15.6".to_string()),
        max_processes: 4,
        ..MapperOptions::default()
    });
    for line in text.lines() {
        match mapper.map_line(line) {
            Ok(documents) => {
                for document in documents {
                    let _text = document.to_string();
                }
            }
            Err(error) => {
                let _rendered = error.to_string();
            }
        }
    }
    let _stats = mapper.stats();
}
