//! Integration tests of `aima-models` (some read ../shared/data).
mod cluster;
mod clv;
mod evaluation;
mod features;
mod fingerprint;
mod metrics;
mod rfm;
mod survival;

/// Measurement helpers of the ignored benchmark tests (Linux /proc).
mod support {
    /// Peak resident memory of this process in MiB, if known.
    pub fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// User + system CPU seconds of this process so far (all threads; 100
    /// clock ticks per second). Wall time on a shared machine includes
    /// waiting for other processes; CPU time is what the run costs.
    pub fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // After the parenthesised command name, utime and stime are the
        // 12th and 13th fields.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        rest.split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|x| x.parse::<f64>().ok())
            .sum::<f64>()
            / 100.0
    }
}
