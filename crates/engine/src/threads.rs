//! Default thread count: the number of physical cores usable by this process.

use std::collections::HashSet;

/// Physical cores available to this process: distinct (package, core) pairs from
/// `/proc/cpuinfo`, never more than the CPUs the scheduler lets us use (cgroups, affinity).
/// SMT siblings share execution units, and llama.cpp decodes fastest with one thread per core.
pub fn physical_cores() -> u32 {
    let usable = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let physical = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| count_physical(&text))
        .unwrap_or(usable);
    physical.clamp(1, usable.max(1))
}

fn count_physical(cpuinfo: &str) -> Option<u32> {
    let mut cores = HashSet::new();
    let (mut package, mut core) = (None, None);
    for line in cpuinfo.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let (Some(p), Some(c)) = (package.take(), core.take()) {
                cores.insert((p, c));
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "physical id" => package = Some(value.trim().to_owned()),
            "core id" => core = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smt_siblings_count_once() {
        let info = "processor: 0\nphysical id: 0\ncore id: 0\n\nprocessor: 1\nphysical id: 0\ncore id: 0\n\n\
                    processor: 2\nphysical id: 0\ncore id: 1\n\nprocessor: 3\nphysical id: 0\ncore id: 1\n";
        assert_eq!(count_physical(info), Some(2));
    }

    #[test]
    fn missing_topology_is_unknown() {
        assert_eq!(count_physical("processor: 0\nmodel name: x\n"), None);
    }

    #[test]
    fn at_least_one_core() {
        assert!(physical_cores() >= 1);
    }
}
