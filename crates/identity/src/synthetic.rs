//! Deterministic synthetic person records with realistic corruption, for benchmarks and tests: Zipf-like
//! common names plus a long tail of generated surnames, UK-shaped postcodes, valid NHS numbers, and
//! duplicates carrying typos, nicknames, swapped date parts, moves and missing values.

use crate::record::{Dob, Record, Sex};
use crate::train::SplitMix;

const MALE: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Thomas",
    "Christopher",
    "Daniel",
    "Matthew",
    "Anthony",
    "Andrew",
    "Joseph",
    "Stephen",
    "Kenneth",
    "Edward",
    "Peter",
    "George",
    "Harry",
    "Oliver",
    "Jack",
    "Charles",
    "Samuel",
    "Benjamin",
    "Alexander",
    "Frederick",
    "Arthur",
    "Leonard",
    "Ronald",
    "Raymond",
    "Geoffrey",
    "Terence",
    "Jacob",
    "Mohammed",
    "Ali",
    "Adam",
    "Ryan",
    "Luke",
    "Liam",
    "Noah",
    "Ethan",
    "Mason",
    "Lewis",
    "Callum",
    "Kieran",
    "Owen",
    "Rhys",
    "Aaron",
    "Connor",
    "Dylan",
    "Jordan",
    "Nathan",
    "Patrick",
    "Philip",
    "Simon",
    "Graham",
    "Neil",
    "Ian",
    "Gary",
    "Keith",
    "Colin",
    "Derek",
    "Trevor",
    "Barry",
    "Stuart",
    "Martin",
    "Paul",
    "Mark",
    "Jason",
    "Craig",
    "Darren",
    "Wayne",
    "Lee",
    "Dean",
    "Scott",
    "Jamie",
    "Alfie",
    "Archie",
    "Theo",
    "Reuben",
    "Tobias",
    "Hamza",
    "Yusuf",
    "Tomasz",
];
const FEMALE: &[&str] = &[
    "Mary",
    "Patricia",
    "Jennifer",
    "Elizabeth",
    "Margaret",
    "Susan",
    "Dorothy",
    "Catherine",
    "Kathleen",
    "Christine",
    "Victoria",
    "Rebecca",
    "Nicola",
    "Gillian",
    "Barbara",
    "Valerie",
    "Ann",
    "Rosemary",
    "Sarah",
    "Emma",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Emily",
    "Sophie",
    "Grace",
    "Lily",
    "Chloe",
    "Jessica",
    "Charlotte",
    "Hannah",
    "Lucy",
    "Ella",
    "Mia",
    "Ruby",
    "Evie",
    "Freya",
    "Poppy",
    "Alice",
    "Eleanor",
    "Helen",
    "Janet",
    "Joan",
    "Jean",
    "Irene",
    "Eileen",
    "Doreen",
    "Brenda",
    "Sandra",
    "Linda",
    "Karen",
    "Julie",
    "Tracey",
    "Joanne",
    "Michelle",
    "Lisa",
    "Claire",
    "Louise",
    "Amanda",
    "Deborah",
    "Angela",
    "Caroline",
    "Fiona",
    "Kirsty",
    "Laura",
    "Gemma",
    "Amy",
    "Zoe",
    "Leah",
    "Megan",
    "Aisha",
    "Fatima",
    "Priya",
    "Agnieszka",
    "Katarzyna",
    "Abigail",
    "Samantha",
    "Stephanie",
    "Josephine",
    "Frances",
    "Theresa",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hunt",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Harvey",
    "Nowak",
    "Kowalski",
    "Okafor",
];
const NICK: &[(&str, &str)] = &[
    ("Robert", "Bob"),
    ("William", "Bill"),
    ("Margaret", "Peggy"),
    ("Elizabeth", "Liz"),
    ("Richard", "Dick"),
    ("James", "Jim"),
    ("Michael", "Mike"),
    ("Thomas", "Tom"),
    ("Anthony", "Tony"),
    ("Edward", "Ted"),
    ("Frederick", "Fred"),
    ("Patricia", "Pat"),
    ("Kathleen", "Kath"),
    ("Susan", "Sue"),
    ("Christopher", "Chris"),
    ("Jennifer", "Jenny"),
    ("Dorothy", "Dot"),
    ("Joseph", "Joe"),
    ("Samuel", "Sam"),
    ("Alexander", "Alex"),
    ("Benjamin", "Ben"),
    ("Daniel", "Dan"),
    ("Matthew", "Matt"),
    ("Stephen", "Steve"),
    ("Catherine", "Cathy"),
    ("Victoria", "Vicky"),
    ("Rebecca", "Becky"),
    ("Andrew", "Andy"),
    ("Charles", "Charlie"),
    ("Harry", "Henry"),
];
const SYLLABLES: &[&str] = &[
    "ash", "bur", "ton", "ley", "field", "wick", "more", "ham", "den", "ford", "brook", "well",
    "by", "worth", "cott", "stan", "ridge", "mar", "dal", "ing", "kin", "son", "ell", "wyn", "gar",
    "rick", "holt", "nes", "ov", "ski", "ak", "ic", "ola", "ade", "bay", "ur", "en", "al", "os",
    "ter",
];
const STREETS: &[&str] = &[
    "High",
    "Church",
    "Station",
    "Victoria",
    "Mill",
    "Park",
    "Queens",
    "Kings",
    "North",
    "London",
    "Manor",
    "School",
    "Green",
    "Chapel",
    "Grange",
    "Albert",
    "Springfield",
    "Windsor",
    "York",
    "Elm",
    "Oak",
    "Ash",
    "Beech",
    "Cedar",
    "Willow",
    "Meadow",
    "Orchard",
    "Highfield",
    "Stanley",
    "Cromwell",
    "Nelson",
    "Clarence",
];
const SUFFIX: &[&str] = &[
    "Street", "Road", "Lane", "Avenue", "Close", "Drive", "Way", "Gardens", "Crescent",
];
const AREAS: &[&str] = &[
    "LS", "BD", "HX", "WF", "HD", "YO", "HG", "DN", "S", "M", "OL", "BB", "PR", "L", "CH", "B",
];

/// A generated record with its true entity.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub record: Record,
    pub entity: u32,
}

fn pick<'a>(rng: &mut SplitMix, xs: &[&'a str]) -> &'a str {
    xs[rng.below(xs.len() as u64) as usize]
}

/// Zipf-like pick: density proportional to 1/(i + 10), so the first name is about 4 % of a 100-name list.
fn zipf<'a>(rng: &mut SplitMix, xs: &[&'a str]) -> &'a str {
    const K: f64 = 10.0;
    #[allow(clippy::cast_precision_loss)]
    let (u, len) = (rng.next_u64() as f64 / u64::MAX as f64, xs.len() as f64);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = (K * ((len + K) / K).powf(u) - K) as usize;
    xs[i.min(xs.len() - 1)]
}

fn chance(rng: &mut SplitMix, p: f64) -> bool {
    #[allow(clippy::cast_precision_loss)]
    let u = rng.next_u64() as f64 / u64::MAX as f64;
    u < p
}

fn generated_surname(rng: &mut SplitMix) -> String {
    let n = 2 + rng.below(3);
    let mut s: String = (0..n).map(|_| pick(rng, SYLLABLES)).collect();
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s
}

/// A valid NHS number (modulus 11) unique per `k` (< 10 million): the `k mod 8`-th valid body among the
/// 11 consecutive bodies of block `k / 8` from 900 000 000 (at most three of 11 are ever invalid).
fn nhs_number(k: u64) -> String {
    let (q, i) = (k / 8, k % 8);
    let mut seen = 0;
    for r in 0..11u64 {
        let body = format!("{}", 900_000_000 + q * 11 + r);
        if let Some(c) = weave_fhir::nhs::check_digit(&body) {
            if seen == i {
                return format!("{body}{c}");
            }
            seen += 1;
        }
    }
    String::new()
}

fn postcode(rng: &mut SplitMix) -> String {
    let unit: String = (0..2)
        .map(|_| char::from(b'A' + (rng.below(20) as u8)))
        .collect();
    format!(
        "{}{} {}{}",
        pick(rng, AREAS),
        1 + rng.below(30),
        rng.below(10),
        unit
    )
}

fn original(rng: &mut SplitMix, id: usize, entity: u32) -> Record {
    let sex = if chance(rng, 0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let given = zipf(rng, if sex == Sex::Male { MALE } else { FEMALE }).to_owned();
    let family = if chance(rng, 0.25) {
        zipf(rng, FAMILY).to_owned()
    } else {
        generated_surname(rng)
    };
    #[allow(clippy::cast_possible_truncation)]
    let dob = Dob::new(
        1925 + rng.below(96) as u16,
        1 + rng.below(12) as u8,
        1 + rng.below(28) as u8,
    );
    Record {
        id: format!("r{id}"),
        given,
        family,
        dob,
        sex,
        postcode: postcode(rng),
        address: format!(
            "{} {} {}",
            1 + rng.below(200),
            pick(rng, STREETS),
            pick(rng, SUFFIX)
        ),
        locality: String::new(),
        phone: if chance(rng, 0.5) {
            format!("07{:09}", rng.below(1_000_000_000))
        } else {
            String::new()
        },
        nhs: chance(rng, 0.8).then(|| nhs_number(u64::from(entity))),
    }
}

/// One keyboard-style error (substitution, transposition, deletion or insertion) after the first letter.
#[must_use]
pub fn typo(rng: &mut SplitMix, s: &str) -> String {
    let mut b: Vec<u8> = s.bytes().collect();
    if b.len() < 3 || !s.is_ascii() {
        return s.to_owned();
    }
    let i = 1 + rng.below(b.len() as u64 - 1) as usize;
    match rng.below(4) {
        0 => b[i] = b'a' + (rng.below(26) as u8),
        1 if i + 1 < b.len() => b.swap(i, i + 1),
        1 | 2 => {
            b.remove(i);
        }
        _ => b.insert(i, b[i]),
    }
    String::from_utf8(b).unwrap_or_else(|_| s.to_owned())
}

fn corrupt(rng: &mut SplitMix, r: &Record, id: usize) -> Record {
    let mut d = r.clone();
    d.id = format!("r{id}");
    if chance(rng, 0.1) {
        if let Some((_, n)) = NICK.iter().find(|(f, _)| *f == r.given) {
            d.given = (*n).to_owned();
        }
    }
    if chance(rng, 0.1) {
        d.given = typo(rng, &d.given);
    }
    if chance(rng, 0.15) {
        d.family = typo(rng, &d.family);
    }
    if chance(rng, 0.02) {
        std::mem::swap(&mut d.given, &mut d.family);
    }
    if let Some(dob) = r.dob {
        if chance(rng, 0.05) {
            d.dob = Dob::new(dob.year, dob.day, dob.month).or(d.dob);
        } else if chance(rng, 0.05) {
            d.dob = Dob::new(dob.year, dob.month, (dob.day % 28) + 1);
        } else if chance(rng, 0.03) {
            d.dob = None;
        }
    }
    if chance(rng, 0.15) {
        d.postcode = postcode(rng);
        d.address = format!(
            "{} {} {}",
            1 + rng.below(200),
            pick(rng, STREETS),
            pick(rng, SUFFIX)
        );
    } else if chance(rng, 0.05) {
        d.postcode.clear();
    }
    if chance(rng, 0.3) {
        d.nhs = None;
    }
    if chance(rng, 0.3) {
        d.phone.clear();
    }
    if chance(rng, 0.02) {
        d.sex = Sex::Unknown;
    }
    d
}

/// `n` records (about 20 % of them duplicates of another) with their true entities; deterministic in `seed`.
#[must_use]
pub fn generate(n: usize, seed: u64) -> Vec<Labelled> {
    let mut rng = SplitMix(seed);
    let mut out: Vec<Labelled> = Vec::with_capacity(n);
    let mut entity = 0u32;
    while out.len() < n {
        let r = original(&mut rng, out.len(), entity);
        let dups = if chance(&mut rng, 0.2) {
            1 + usize::from(chance(&mut rng, 0.25))
        } else {
            0
        };
        for _ in 0..dups {
            if out.len() + 1 >= n {
                break;
            }
            let d = corrupt(&mut rng, &r, out.len() + 1);
            out.push(Labelled { record: d, entity });
        }
        out.push(Labelled { record: r, entity });
        entity += 1;
    }
    out.truncate(n);
    for (i, l) in out.iter_mut().enumerate() {
        l.record.id = format!("r{i}");
    }
    out
}

/// A corrupted copy of `r` (as a new source would record the same person), id `id`.
#[must_use]
pub fn corrupted_copy(rng: &mut SplitMix, r: &Record, id: usize) -> Record {
    corrupt(rng, r, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_with_duplicates() {
        let a = generate(2_000, 9);
        let b = generate(2_000, 9);
        assert_eq!(a.len(), 2_000);
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.record == y.record && x.entity == y.entity));
        let entities = a.iter().map(|l| l.entity).max().unwrap_or(0) as usize + 1;
        let dup_share = 1.0 - entities as f64 / 2_000.0;
        assert!((0.12..0.3).contains(&dup_share), "{dup_share}");
        assert!(a
            .iter()
            .filter_map(|l| l.record.nhs.as_deref())
            .all(weave_fhir::nhs::is_valid_nhs_number));
        let mut by_number = std::collections::HashMap::new();
        for l in &a {
            if let Some(n) = &l.record.nhs {
                assert_eq!(
                    *by_number.entry(n.clone()).or_insert(l.entity),
                    l.entity,
                    "NHS number {n} shared"
                );
            }
        }
        let numbers: std::collections::HashSet<String> = (0..50_000).map(nhs_number).collect();
        assert_eq!(numbers.len(), 50_000);
        assert!(numbers
            .iter()
            .all(|n| weave_fhir::nhs::is_valid_nhs_number(n)));
    }

    #[test]
    fn typos_change_strings() {
        let mut rng = SplitMix(3);
        for _ in 0..50 {
            let t = typo(&mut rng, "Harrington");
            assert!(t.starts_with('H'));
        }
    }
}
