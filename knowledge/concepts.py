"""A small hand-made lexicon of the domain's concepts, read on normalised keys.

The re-ranker (matcher.py) asks two questions of each candidate entry: does the question name a
concept the entry never mentions ("quên mật khẩu Zalo" against the VNeID password entry), and does
the entry's title name a concept the question does not (the bank's lost-phone entry for a question
about VNeID on a lost phone)? Words alone cannot say that: "mật khẩu" is shared, "Zalo" is one
more word among many. Patterns are space-separated tokens of `normalize.key` output (accent-free,
abbreviations expanded, domain terms joined: "tamtru", "nganhang", "dienthoai"; stop words gone, so
"trẻ em" is "tre" and "ô tô" is "to": such patterns are left out or written with a neighbour).
"""

from __future__ import annotations

CONCEPTS: dict[str, tuple[str, ...]] = {
    "vneid": ("vneid", "dinhdanh", "muc 1", "muc 2"),
    # banks by name as people type them ("mk vcb digibank", "mật khẩu MB Bank")
    "bank": ("nganhang", "atm", "the tin dung", "the ghi no", "agribank", "vietcombank", "vietinbank", "bidv",
             "bank", "banking", "ebanking", "digibank", "vcb", "techcombank", "tcb", "mbbank", "sacombank",
             "vpbank", "tpbank", "acb", "hdbank", "vib", "shb", "seabank", "lpbank", "msb", "ocb", "eximbank",
             "pvcombank", "bacabank", "kienlongbank"),
    "zalo": ("zalo",),
    "facebook": ("facebook", "messenger", "fb"),
    "telegram": ("telegram",),
    "temp_residence": ("tamtru", "luu tru", "tamvang"),
    "perm_residence": ("thuongtru", "ho khau"),
    "id_card": ("can cuoc", "chung nhan dan", "chip"),
    "birth": ("khaisinh",),
    "death": ("khaitu", "chet", "qua doi"),
    "marriage": ("ket hon",),
    "phone": ("dienthoai", "smartphone"),
    "sim": ("sim", "nhamang", "thue bao", "viettel", "vinaphone", "mobifone"),
    "otp": ("otp",),
    "password": ("matkhau", "passcode"),
    "nfc": ("nfc",),
    "biometric": ("sinhtrachoc", "khuon mat", "ekyc"),
    "qr": ("qr", "vietqr"),
    "electricity": ("tiendien",),
    "water": ("tiennuoc",),
    # "thuốc" only with a neighbour: bare "thuoc" is also "thuộc" (belongs to), everywhere in letters
    "health": ("bao hiem y te", "suc khoe", "kham benh", "benh vien", "don thuoc", "mua thuoc", "uong thuoc",
               "thuoc men"),
    "social_insurance": ("bao hiem xahoi", "luong huu"),
    "driving": ("giay phep lai xe", "xe may", "xe to", "phat nguoi"),
    # the tax, never bare "thue": accent-free it is also "thuê" (rent: "thuê trọ", "thuê bao")
    "tax": ("nop thue", "dong thue", "khai thue", "no thue", "thue thu nhap", "tncn", "ma so thue", "hoan thue",
            "quyet toan thue", "thue khoan", "quan thue", "can bo thue", "cuc thue", "thue dat", "thue mon bai",
            "thue gtgt", "gia tri gia tang"),
    "welfare": ("an sinh", "tro cap"),
    "fraud": ("lua dao", "gia mao", "lua", "chiem"),
    "wallet": ("vidientu", "momo", "zalopay", "viettelpay", "mobilemoney", "shopeepay", "vnpay"),
    "public_portal": ("dichvucong", "hoso", "cong dichvucong"),
    "police": ("congan",),
    "child": ("duoi 14", "tre so sinh", "tre nho"),
    "elderly": ("nguoi cao tuoi",),
    "foreigner": ("nuoc ngoai",),
    "fee": ("phi",),
    # a fine: "xử phạt", "mức phạt", "bị phạt" (its "bị" is a stop word: bare "phat", see _GUARDED)
    "penalty": ("xu phat", "muc phat", "phat tien", "nop phat"),
    "criminal_record": ("ly lich tu phap",),
    "team": ("to cong nghe", "tcns", "phieu", "tro ly", "bot"),
    "land": ("so do", "dat dai", "quyen su dung dat", "thua dat", "tach thua", "dia chinh", "chuyen nhuong",
             "sang ten", "giay phep xay dung"),
    "loan": ("vay von", "vay tien", "lai suat", "tiet kiem", "tra gop", "no xau", "the chap", "dao han",
             "vay online", "tin dung den", "vay no", "doi no"),
    # Neighbouring matters the knowledge base does not cover, written from what each field is about
    # (not from evaluation questions): a question about them names a concept its best entry lacks.
    "passport": ("ho chieu", "visa", "xuat canh"),
    "telecom_plan": ("goi cuoc", "data", "4g", "5g", "nap the", "khuyen mai", "tra sau", "tra truoc",
                     "chuyen mang giu so", "song yeu"),
    "prices": ("gia vang", "ty gia", "usd", "chung khoan"),
    "weather": ("thoi tiet", "mua bao"),
    "lottery": ("xo so", "kqxs", "vietlott"),
    "power_cut": ("cat dien", "cup dien", "mat dien"),
    "unemployment": ("that nghiep",),
    "shopping": ("mua hang", "shopee", "lazada", "tiki"),
    # care and its cost under health insurance, beyond carrying the card in VNeID
    "medical_care": ("muc huong", "dung tuyen", "trai tuyen", "thong tuyen", "chuyen tuyen", "vien phi",
                     "nam vien", "dieu tri", "phau thuat", "cap cuu", "benh nhan", "huyet ap", "tieu duong",
                     "tiem chung", "vaccine", "tac dung phu"),
    # social-insurance benefits and contributions, beyond the social pension the KB explains
    "insurance_benefit": ("nghi huu", "thai san", "om dau", "tu tuat", "muc dong", "bao hiem xahoi mot lan",
                          "bao hiem xahoi 1 lan", "bao hiem nhan tho", "bao hiem xe"),
    "inheritance": ("thua ke",),
    "family_law": ("ly hon", "ly than", "nuoi con", "cap duong", "tai san chung", "con nuoi", "nuoi duong"),
    "nationality": ("quoc tich",),
    "labour": ("hop dong lao dong", "su dung lao dong", "sa thai", "nghi viec", "thoi viec",
               "luong thieu", "tang ca", "them gio", "cong doan", "nghi phep"),
    "traffic_law": ("vi pham giao thong", "nong do con", "tru diem", "dang kiem", "bien so", "vuot den do",
                    "mu bao hiem", "sang ten xe"),
    "device_repair": ("sua dienthoai", "thay man hinh", "vo man hinh", "thay pin", "chai pin",
                      "hao pin", "cuong luc", "icloud", "apple id"),
    "other_accounts": ("gmail", "tiktok", "youtube", "instagram"),
    "utility_service": ("cong to", "gia dien", "mat nuoc", "cup nuoc", "dong ho nuoc", "nuoc sach"),
    "education": ("tuyen sinh", "tot nghiep", "hoc bong", "giao vien"),
    "military": ("nghia vu quan su", "nhap ngu"),
    "television": ("dau thu", "ang ten", "tivi"),
    "court": ("khoi kien", "toa an", "tranh chap", "hoa giai", "hanh an"),
    "farming": ("phan bon", "chan nuoi", "cay trong", "tru sau", "thu y"),
    "leisure": ("bong da", "ca nhac", "nau an", "mon an", "phong thuy"),
}

# token sequence -> concept; matched on whole tokens.
_PATTERNS: list[tuple[tuple[str, ...], str]] = sorted(
    ((tuple(p.split()), c) for c, ps in CONCEPTS.items() for p in ps), key=lambda pc: -len(pc[0])
)
_SINGLE: dict[str, str] = {p[0]: c for p, c in _PATTERNS if len(p) == 1}
_MULTI: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _p, _c in _PATTERNS:
    if len(_p) > 1:
        _MULTI.setdefault(_p[0], []).append((_p, _c))

# One-word patterns that name the concept unless the next word makes another word of them:
# "phạt" (a fine) but "phát hiện", "phát triển", "phát sóng" (detect, develop, broadcast).
_GUARDED: dict[str, tuple[str, frozenset[str]]] = {
    "phat": ("penalty", frozenset("hien trien song sinh thanh dong tin minh am ra bieu hanh nang trao".split())),
}

# Concepts too common or too loose to count when an entry's TITLE names them and the question does
# not ("mất" in a title, "phí" in passing), and when a question names them in passing.
WEAK = frozenset({"phone", "fee", "death", "fraud", "police", "public_portal"})
# For ranking, a fee is a question type, not a word in passing: a title that states a fee ("Lệ phí
# đăng ký thường trú, tạm trú") answers "bao nhiêu tiền", not "thủ tục đăng ký thường trú thế nào".
# (Follow-ups keep WEAK: a fee is too common to tie two entries' topics together.)
RANK_WEAK = WEAK - {"fee"}


def _next_words(words: list[str], w: str) -> list[str]:
    """The word after each occurrence of `w` ("" at the end)."""
    return [words[i + 1] if i + 1 < len(words) else "" for i, x in enumerate(words) if x == w]


def concepts(text_key: str) -> frozenset[str]:
    """The concepts a normalised key names."""
    words = text_key.split()
    # the one-word patterns by one set intersection; the longer ones only where their first word is
    found = {_SINGLE[w] for w in _SINGLE.keys() & words}
    for w in _GUARDED.keys() & words:
        concept, veto = _GUARDED[w]
        if any(nxt not in veto for nxt in _next_words(words, w)):
            found.add(concept)
    firsts = _MULTI.keys() & words
    if firsts:
        for i, w in enumerate(words):
            if w in firsts:
                for pattern, c in _MULTI[w]:
                    if tuple(words[i:i + len(pattern)]) == pattern:
                        found.add(c)
    return frozenset(found)


__all__ = ["CONCEPTS", "RANK_WEAK", "WEAK", "concepts"]
