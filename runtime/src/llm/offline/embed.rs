//! A deterministic hashed embedding: canonical words, word bigrams and
//! character trigrams hashed (FNV-1a, signed) into a fixed-size vector,
//! L2-normalized. No model, no randomness: the same text always gives the
//! same vector on every machine.

use super::text;

/// Vector dimension.
pub(crate) const DIM: usize = 512;

/// An L2-normalized embedding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Embedding(Vec<f32>);

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn add(v: &mut [f32], feature: &str, weight: f32) {
    let h = fnv1a(feature.as_bytes());
    let idx = (h % DIM as u64) as usize;
    let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
    v[idx] += sign * weight;
}

/// Embeds `text` (content words only; stop words dropped).
pub(crate) fn embed(text_in: &str) -> Embedding {
    let words = text::content_tokens(text_in);
    let mut v = vec![0.0f32; DIM];
    for w in &words {
        add(&mut v, &format!("w:{w}"), 1.0);
        let padded: Vec<char> = format!("<{w}>").chars().collect();
        for tri in padded.windows(3) {
            add(
                &mut v,
                &format!("c:{}", tri.iter().collect::<String>()),
                0.25,
            );
        }
    }
    for pair in words.windows(2) {
        add(&mut v, &format!("b:{} {}", pair[0], pair[1]), 0.5);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    Embedding(v)
}

impl Embedding {
    /// Cosine similarity in -1..=1 (0 when either text had no content words).
    pub(crate) fn cosine(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let a = embed("monthly revenue for 2024");
        let b = embed("what were our sales per month");
        let c = embed("which customers are likely to churn");
        assert!(
            a.cosine(&b) > a.cosine(&c),
            "{} vs {}",
            a.cosine(&b),
            a.cosine(&c)
        );
        assert!((a.cosine(&a) - 1.0).abs() < 1e-5);
        assert_eq!(embed("the of and").cosine(&a), 0.0);
        assert_eq!(embed("revenue"), embed("revenue"), "deterministic");
    }
}
