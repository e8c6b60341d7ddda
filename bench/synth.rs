//! Writes a synthetic Daily Papers corpus as daily-list JSON files (the `/api/daily_papers`
//! format), so benchmarks load it through papergraph's own import path.
//!
//! `cargo run --release --example synth -- OUT_DIR [PAPERS=50000] [DAYS=1000]`
//!
//! Deterministic: ~5 authors a paper (1-9) drawn from a pool of about 100,000 names, titles of
//! 6-13 words and abstracts of 120-259 words from an ML vocabulary, heavy-tailed upvotes, 40 % with
//! a GitHub repository, days from 2023-05-04 on.
use std::io::Write;

use chrono::{Duration, NaiveDate};
use serde_json::json;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "model",
    "models",
    "language",
    "large",
    "learning",
    "training",
    "data",
    "diffusion",
    "video",
    "image",
    "generation",
    "reasoning",
    "agents",
    "benchmark",
    "transformer",
    "attention",
    "retrieval",
    "augmented",
    "multimodal",
    "vision",
    "tokens",
    "inference",
    "efficient",
    "scaling",
    "alignment",
    "reinforcement",
    "policy",
    "reward",
    "preference",
    "fine-tuning",
    "pretraining",
    "evaluation",
    "dataset",
    "performance",
    "tasks",
    "results",
    "method",
    "approach",
    "framework",
    "propose",
    "novel",
    "show",
    "demonstrate",
    "state-of-the-art",
    "experiments",
    "across",
    "robust",
    "latent",
    "representation",
    "embedding",
    "graph",
    "neural",
    "network",
    "networks",
    "speech",
    "audio",
    "text",
    "code",
    "mathematical",
    "chain-of-thought",
    "instruction",
    "context",
    "long",
    "memory",
    "sparse",
    "mixture",
    "experts",
    "quantization",
    "distillation",
    "knowledge",
    "search",
    "planning",
    "robotics",
    "3D",
    "scene",
    "reconstruction",
    "rendering",
    "gaussian",
    "splatting",
    "segmentation",
    "detection",
    "editing",
    "controllable",
    "synthesis",
    "zero-shot",
    "few-shot",
    "generalization",
    "safety",
    "hallucination",
    "factuality",
    "bias",
    "open-source",
    "parameters",
    "compute",
    "throughput",
    "latency",
    "decoding",
    "speculative",
    "sampling",
    "optimization",
    "gradient",
    "loss",
    "objective",
    "supervised",
    "self-supervised",
    "contrastive",
    "adapter",
    "low-rank",
    "architecture",
    "layers",
    "heads",
    "visual",
    "question",
    "answering",
    "summarization",
    "translation",
    "multilingual",
    "medical",
    "scientific",
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "for",
    "with",
    "on",
    "we",
    "that",
    "is",
    "by",
    "our",
    "this",
    "from",
    "which",
    "as",
    "an",
    "are",
    "can",
    "these",
    "while",
    "both",
    "more",
];

const FIRST: &[&str] = &[
    "Wei",
    "Jun",
    "Yu",
    "Hao",
    "Xin",
    "Li",
    "Ming",
    "Jie",
    "Lei",
    "Yan",
    "Anna",
    "Maria",
    "David",
    "Michael",
    "Sarah",
    "James",
    "Laura",
    "Daniel",
    "Elena",
    "Ivan",
    "Olga",
    "Ahmed",
    "Fatima",
    "Omar",
    "Priya",
    "Rahul",
    "Arjun",
    "Ananya",
    "Kenji",
    "Yuki",
    "Hiroshi",
    "Sakura",
    "Min-jun",
    "Seo-yeon",
    "Ji-ho",
    "Lucas",
    "Sofía",
    "Mateo",
    "Camila",
    "Tomás",
    "Chloé",
    "Léa",
    "Jürgen",
    "Zoë",
    "Björn",
    "Åsa",
    "Nadia",
    "Tariq",
    "Amara",
    "Kwame",
    "Chidi",
    "Ngozi",
    "Emeka",
    "Aiko",
    "Freya",
    "Soren",
    "Ingrid",
    "Pablo",
    "Lucía",
    "Marco",
    "Giulia",
    "Luca",
    "Noah",
    "Emma",
    "Olivia",
    "Liam",
    "Ava",
    "Ethan",
    "Mia",
    "Yusuf",
    "Leila",
    "Dmitri",
    "Katarzyna",
    "Jakub",
    "Paulina",
    "Hana",
    "Thanh",
    "Minh",
    "Linh",
    "Quang",
    "Siddharth",
    "Kavya",
    "Rohan",
    "Ishaan",
    "Mei",
    "Tao",
    "Rui",
    "Bo",
    "Xiang",
    "Peng",
    "Feng",
    "Chen",
    "Jing",
    "Shu",
    "Yi",
    "Zhen",
    "Isabela",
    "Diego",
    "Valentina",
    "Sebastián",
    "Ines",
    "Esther",
    "Naledi",
    "Themba",
];

const LAST: &[&str] = &[
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Luo",
    "Gao",
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Martinez",
    "Rodriguez",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Becker",
    "Dubois",
    "Moreau",
    "Laurent",
    "Rossi",
    "Russo",
    "Ferrari",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Watanabe",
    "Ito",
    "Nakamura",
    "Kobayashi",
    "Sharma",
    "Patel",
    "Singh",
    "Kumar",
    "Gupta",
    "Reddy",
    "Iyer",
    "Nair",
    "Khan",
    "Ali",
    "Hassan",
    "Ibrahim",
    "Okafor",
    "Okeke",
    "Adeyemi",
    "Mensah",
    "Kamau",
    "Odhiambo",
    "Nguyen",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kowalski",
    "Nowak",
    "Novak",
    "Horvat",
    "Jensen",
    "Nielsen",
    "Hansen",
    "Larsen",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "Costa",
    "Alvarez",
    "Torres",
    "Ramirez",
    "Flores",
    "Şahin",
    "Yılmaz",
    "Demir",
    "Çelik",
    "Öztürk",
    "Cohen",
    "Levi",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench/data".into()));
    let papers: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let days: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = NaiveDate::from_ymd_opt(2023, 5, 4).unwrap_or_default();
    let per_day = papers / days;
    let mut serial = 0u64;
    for d in 0..days {
        let date = start + Duration::days(d as i64);
        let n = if d + 1 == days {
            papers - serial
        } else {
            per_day + rng.below(3) - 1
        }
        .min(papers - serial);
        let mut items = Vec::with_capacity(n as usize);
        for i in 0..n {
            serial += 1;
            let yymm = date.format("%y%m").to_string();
            let id = format!("{yymm}.{:05}", (serial % 100_000));
            let n_authors = rng.range(1, 9);
            let authors: Vec<_> = (0..n_authors)
                .map(|k| {
                    // A Zipf-ish pool: some names recur across many papers.
                    let pool = if rng.below(10) < 3 { 400 } else { 100_000 };
                    let a = rng.below(pool);
                    let name = format!(
                        "{} {}",
                        FIRST[(a % FIRST.len() as u64) as usize],
                        LAST[((a / FIRST.len() as u64) % LAST.len() as u64) as usize]
                    );
                    let name = if a >= (FIRST.len() * LAST.len()) as u64 {
                        format!("{name} {}", (b'A' + (a / 11_000 % 26) as u8) as char)
                    } else {
                        name
                    };
                    json!({ "_id": format!("{:024x}", serial * 16 + k), "name": name, "hidden": false })
                })
                .collect();
            let upvotes = {
                let r = rng.below(1000) as f64 / 1000.0;
                (2.0 * (1.0 / (1.0 - r * 0.995)).powf(1.3)) as u64
            }
            .min(600);
            let title = {
                let words = rng.range(6, 13) as usize;
                let mut t = sentence(&mut rng, words);
                if let Some(c) = t.get_mut(0..1) {
                    c.make_ascii_uppercase();
                }
                t
            };
            let words = rng.range(120, 259) as usize;
            let summary = sentence(&mut rng, words) + ".";
            let at = format!("{date}T{:02}:{:02}:00.000Z", 6 + i % 12, i % 60);
            let github = (rng.below(10) < 4)
                .then(|| format!("https://github.com/lab{}/{}", serial % 997, id));
            let paper = json!({
                "id": id,
                "authors": authors,
                "publishedAt": format!("{}T12:00:00.000Z", date - Duration::days(rng.range(1, 6) as i64)),
                "submittedOnDailyAt": at,
                "title": title,
                "summary": summary,
                "upvotes": upvotes,
                "githubRepo": github,
                "githubStars": github.as_ref().map(|_| rng.below(3000)),
                "ai_summary": sentence(&mut rng, 20),
                "ai_keywords": [rng.pick(WORDS), rng.pick(WORDS), rng.pick(WORDS)],
            });
            items.push(json!({
                "paper": paper,
                "publishedAt": at,
                "title": title,
                "summary": summary,
                "numComments": rng.below(8),
                "submittedBy": { "_id": "6000", "fullname": format!("Curator {}", serial % 50), "name": format!("curator{}", serial % 50), "type": "user" },
                "isAuthorParticipating": false,
            }));
        }
        let mut f = std::fs::File::create(out.join(format!("daily_papers_date-{date}.json")))?;
        f.write_all(serde_json::to_string(&items)?.as_bytes())?;
        if serial >= papers {
            break;
        }
    }
    eprintln!(
        "wrote {serial} papers over {days} days to {}",
        out.display()
    );
    Ok(())
}
