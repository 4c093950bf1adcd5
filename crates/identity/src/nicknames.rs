//! Familiar forms of common English/UK given names (Bob ↔ Robert, Liz ↔ Elizabeth, Bill ↔ William …).
//!
//! Each group lists a formal name and its familiar forms; a name may sit in several groups (CHRIS is
//! both Christopher and Christine). A name maps to a 128-bit set of group numbers, so "are these two
//! names variants of each other" is one AND on pre-computed masks, with no allocation per pair.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Nickname groups (upper-case, letters only). At most 128 groups.
pub const GROUPS: &[&[&str]] = &[
    &["ROBERT", "BOB", "BOBBY", "ROB", "ROBBIE", "ROBIN", "BERT"],
    &[
        "WILLIAM", "BILL", "BILLY", "WILL", "WILLIE", "WILLY", "LIAM",
    ],
    &[
        "MARGARET", "MAGGIE", "MAGGY", "MEG", "PEGGY", "PEG", "MARGIE", "MADGE", "GRETA", "MAISIE",
    ],
    &[
        "ELIZABETH",
        "LIZ",
        "LIZZIE",
        "LIZZY",
        "BETH",
        "BETTY",
        "BETSY",
        "ELIZA",
        "ELSIE",
        "LISA",
        "LIBBY",
        "BESS",
        "BESSIE",
    ],
    &[
        "RICHARD", "DICK", "RICK", "RICKY", "RICH", "RICHIE", "DICKIE",
    ],
    &["JAMES", "JIM", "JIMMY", "JAMIE", "JIMMIE"],
    &["MICHAEL", "MIKE", "MICK", "MICKY", "MICKEY", "MIKEY"],
    &["THOMAS", "TOM", "TOMMY", "THOM"],
    &["ANTHONY", "TONY", "ANTON"],
    &["EDWARD", "TED", "TEDDY", "ED", "EDDIE", "EDDY", "NED"],
    &["FREDERICK", "FRED", "FREDDIE", "FREDDY", "FREDDIE"],
    &["PATRICIA", "PAT", "PATSY", "PATTY", "TRISH", "TRICIA"],
    &["PATRICK", "PAT", "PADDY", "PADRAIG"],
    &["KATHLEEN", "KATH", "KATHY", "KATHIE", "KAY"],
    &[
        "KATHERINE",
        "KATHRYN",
        "KATE",
        "KATIE",
        "KATY",
        "KATH",
        "KATHY",
        "KAT",
        "KITTY",
    ],
    &[
        "CATHERINE",
        "CATHRYN",
        "KATHERINE",
        "KATHRYN",
        "CATH",
        "CATHY",
        "CATE",
        "CATRIONA",
        "KATE",
        "KATIE",
        "KITTY",
    ],
    &[
        "SUSAN", "SUE", "SUSIE", "SUZY", "SUZIE", "SUZANNE", "SUSANNA", "SUSANNAH",
    ],
    &["CHRISTOPHER", "CHRIS", "KIT", "TOPHER"],
    &[
        "CHRISTINE",
        "CHRISTINA",
        "CHRIS",
        "CHRISSIE",
        "CHRISSY",
        "TINA",
        "KIRSTY",
        "KRISTINA",
    ],
    &["JENNIFER", "JENNY", "JEN", "JENNIE", "JENNI"],
    &["DOROTHY", "DOT", "DOTTIE", "DOLLY", "DORA", "DOT"],
    &[
        "MARY", "MOLLY", "POLLY", "MAE", "MAY", "MAMIE", "MAUREEN", "MARIE",
    ],
    &["JOSEPH", "JOE", "JOEY", "JOS"],
    &["JOSEPHINE", "JO", "JOSIE", "JOSIE", "JOSEY"],
    &["SAMUEL", "SAM", "SAMMY", "SAMMIE"],
    &["SAMANTHA", "SAM", "SAMMY", "SAMMIE"],
    &[
        "ALEXANDER",
        "ALEX",
        "ALEC",
        "ALEK",
        "SANDY",
        "XANDER",
        "ALISTAIR",
        "ALASDAIR",
    ],
    &[
        "ALEXANDRA",
        "ALEX",
        "ALEXA",
        "LEXI",
        "LEXIE",
        "SANDRA",
        "SANDY",
        "ALEXIS",
    ],
    &["BENJAMIN", "BEN", "BENNY", "BENJI", "BENNIE"],
    &["DANIEL", "DAN", "DANNY", "DANNIE"],
    &["DANIELLE", "DANI", "DANNI", "ELLIE"],
    &["MATTHEW", "MATT", "MATTY", "MAT"],
    &["STEPHEN", "STEVEN", "STEVE", "STEVIE", "STEPH"],
    &["STEPHANIE", "STEPH", "STEFFI", "STEFANIE"],
    &["KENNETH", "KEN", "KENNY", "KENNIE"],
    &["LEONARD", "LEN", "LENNY", "LEO", "LENNIE"],
    &["RONALD", "RON", "RONNIE", "RONNY"],
    &["TERENCE", "TERRY", "TEL", "TERRENCE"],
    &["GEOFFREY", "GEOFF", "JEFF", "JEFFREY", "JEFFERY"],
    &["RAYMOND", "RAY"],
    &["ARTHUR", "ART", "ARTIE"],
    &["VICTORIA", "VICKY", "VICKIE", "VIC", "TORI", "VIKKI"],
    &["REBECCA", "BECKY", "BECCA", "BEX", "BECKI"],
    &["NICOLA", "NICKY", "NIKKI", "NICOLE", "NICKI"],
    &["NICHOLAS", "NICK", "NICKY", "NICO", "COLIN"],
    &["JACOB", "JAKE", "JAKOB"],
    &["ANDREW", "ANDY", "DREW", "ANDIE"],
    &["GILLIAN", "GILL", "GILLY", "JILL", "JILLIAN"],
    &["BARBARA", "BABS", "BARB", "BARBIE", "BABS"],
    &["VALERIE", "VAL"],
    &[
        "ANN", "ANNE", "ANNA", "ANNIE", "NANCY", "NAN", "HANNAH", "ANNETTE",
    ],
    &["ROSEMARY", "ROSIE", "ROSE", "ROSA", "ROSY"],
    &["KATARZYNA", "KASIA", "KATE", "KASHA"],
    &[
        "MUHAMMAD", "MOHAMMED", "MOHAMMAD", "MOHAMED", "MUHAMMED", "MOHAMAD", "MO",
    ],
    &["DAVID", "DAVE", "DAVEY", "DAI", "DAVY"],
    &[
        "JOHN", "JACK", "JOHNNY", "JOHNNIE", "JON", "IAN", "SEAN", "EOIN", "EVAN",
    ],
    &["JONATHAN", "JON", "JONNY", "JONNIE", "NATHAN"],
    &["CHARLES", "CHARLIE", "CHARLEY", "CHAS", "CHUCK", "CHAZ"],
    &[
        "CHARLOTTE",
        "CHARLIE",
        "LOTTIE",
        "LOTTE",
        "CHARLEY",
        "LOTTY",
    ],
    &["HENRY", "HARRY", "HAL", "HANK"],
    &["HAROLD", "HARRY", "HAL"],
    &["ALBERT", "AL", "ALBIE", "BERT", "BERTIE"],
    &["ALFRED", "ALF", "ALFIE", "FRED", "FREDDIE"],
    &["GEORGE", "GEORDIE", "GEORGIE"],
    &["GEORGINA", "GEORGIA", "GEORGIE", "GINA"],
    &["PETER", "PETE"],
    &["PHILIP", "PHILLIP", "PHIL", "PIP"],
    &["TIMOTHY", "TIM", "TIMMY"],
    &["GERALD", "GERRY", "JERRY", "GED"],
    &["GERALDINE", "GERRY", "GERI", "JERI"],
    &["DOUGLAS", "DOUG", "DOUGIE"],
    &["DONALD", "DON", "DONNIE", "DONNY"],
    &["GORDON", "GORDIE"],
    &["LAWRENCE", "LAURENCE", "LARRY", "LAURIE", "LOL"],
    &["NORMAN", "NORM"],
    &["FRANCIS", "FRANK", "FRANKIE", "FRAN"],
    &["FRANCES", "FRAN", "FRANNIE", "FANNY", "FRANKIE"],
    &["ERNEST", "ERNIE"],
    &["STANLEY", "STAN"],
    &["SIDNEY", "SYDNEY", "SID", "SYD"],
    &["BERNARD", "BERNIE", "BARNEY"],
    &["HERBERT", "HERB", "BERT", "HERBIE"],
    &["WALTER", "WALT", "WALLY"],
    &["GREGORY", "GREG", "GREGG"],
    &["JEREMY", "JEZ", "JERRY"],
    &["NATHANIEL", "NATHAN", "NAT", "NATE"],
    &["OLIVER", "OLLIE", "OLLY", "NOLL"],
    &["OLIVIA", "LIVVY", "LIV", "OLLIE", "LIVIA"],
    &["ZACHARY", "ZACH", "ZACK", "ZAC"],
    &["JOSHUA", "JOSH"],
    &["THEODORE", "THEO", "TED", "TEDDY"],
    &["CAMERON", "CAM"],
    &["MAXIMILIAN", "MAX", "MAXWELL", "MAXIE"],
    &["SEBASTIAN", "SEB", "SEBBY"],
    &["DOMINIC", "DOM"],
    &["VINCENT", "VINCE", "VINNY"],
    &["ABIGAIL", "ABBY", "ABBIE", "GAIL"],
    &["AMANDA", "MANDY", "MANDA"],
    &["DEBORAH", "DEBRA", "DEBBIE", "DEB", "DEBBY"],
    &["EMILY", "EMMY", "MILLIE", "EM"],
    &["EMMA", "EM", "EMMIE"],
    &[
        "ELEANOR", "ELLIE", "ELLA", "NELL", "NELLIE", "NORA", "ELENOR", "LEANORA",
    ],
    &["HELEN", "HELENA", "NELL", "NELLIE", "ELLEN", "LENA"],
    &["JACQUELINE", "JACKIE", "JACQUI", "JACKY"],
    &["JANET", "JAN", "JANETTE", "NETTIE"],
    &["JANE", "JANIE", "JEAN", "JEANNIE", "JENNY"],
    &["JESSICA", "JESS", "JESSIE", "JESSE"],
    &["JULIA", "JULIE", "JULES", "JULIET"],
    &["LOUISE", "LOUISA", "LOU", "LULU", "LOUIE"],
    &["LOUIS", "LEWIS", "LOU", "LOUIE"],
    &["MADELEINE", "MADELINE", "MADDIE", "MADDY", "MADGE"],
    &["PAMELA", "PAM", "PAMMY"],
    &["PENELOPE", "PENNY", "PEN"],
    &["PRISCILLA", "CILLA", "PRISSY"],
    &["SARAH", "SARA", "SALLY", "SADIE", "SAL"],
    &[
        "THERESA", "TERESA", "TESS", "TESSA", "TERRI", "TERRY", "TREE",
    ],
    &["WINIFRED", "WINNIE", "FREDA", "WIN"],
    &["AGNES", "AGGIE", "NESSA"],
    &["ALICE", "ALLIE", "ALISON", "ALLISON", "ALI"],
    &["CAROLINE", "CAROL", "CARRIE", "CAROLYN", "CARO"],
    &["CONSTANCE", "CONNIE"],
    &["CYNTHIA", "CINDY"],
    &["EILEEN", "AILEEN", "EILY"],
    &["EVELYN", "EVE", "EVIE", "EVA"],
    &["FLORENCE", "FLO", "FLOSSIE", "FLORRIE"],
    &["GWENDOLINE", "GWEN", "GWENDA", "WENDY"],
    &["IRENE", "RENE", "RENEE"],
];

fn table() -> &'static HashMap<&'static str, u128> {
    static TABLE: OnceLock<HashMap<&'static str, u128>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m: HashMap<&'static str, u128> = HashMap::new();
        for (i, group) in GROUPS.iter().enumerate().take(128) {
            for name in *group {
                *m.entry(name).or_insert(0) |= 1u128 << i;
            }
        }
        m
    })
}

/// The set of nickname groups a normalised (upper-case, letters only) given name belongs to; 0 when none.
#[must_use]
pub fn groups_of(name: &str) -> u128 {
    table().get(name).copied().unwrap_or(0)
}

/// True when the two normalised names are different forms of the same name in the table.
#[must_use]
pub fn are_variants(a: &str, b: &str) -> bool {
    groups_of(a) & groups_of(b) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_fits_in_mask_and_is_upper_case() {
        assert!(GROUPS.len() <= 128, "{} groups", GROUPS.len());
        assert!(GROUPS.len() >= 100);
        for g in GROUPS {
            for n in *g {
                assert!(n.bytes().all(|b| b.is_ascii_uppercase()), "{n}");
            }
        }
    }

    #[test]
    fn common_variants() {
        assert!(are_variants("BOB", "ROBERT"));
        assert!(are_variants("LIZ", "ELIZABETH"));
        assert!(are_variants("BILL", "WILLIAM"));
        assert!(are_variants("PEGGY", "MARGARET"));
        assert!(are_variants("CHRIS", "CHRISTINE"));
        assert!(are_variants("CHRIS", "CHRISTOPHER"));
        assert!(are_variants("KASIA", "KATARZYNA"));
        assert!(are_variants("MOHAMMED", "MUHAMMAD"));
        assert!(!are_variants("CHRISTOPHER", "CHRISTINE"));
        assert!(!are_variants("BOB", "WILLIAM"));
        assert!(!are_variants("ZEBEDEE", "ZEBEDEE"));
        assert_eq!(groups_of("ZEBEDEE"), 0);
    }
}
