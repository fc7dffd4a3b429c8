#!/usr/bin/env python3
"""Generate crates/core/tests/fixtures/tfidf_golden.json, the scikit-learn reference for the
TF-IDF golden test (crates/core/tests/tfidf_golden.rs).

Requirements (this script installs nothing):

    pip install scikit-learn

Usage, from anywhere in the repository:

    python3 scripts/make_tfidf_fixture.py

It fits `TfidfVectorizer()` with its defaults (lowercase, token pattern `(?u)\\b\\w\\w+\\b`,
raw counts, smooth idf, l2 norm) on a list of Latin-script product titles and writes, pretty
printed with sorted keys so that regenerating gives a stable diff:

    {
      "sklearn_version": "...",
      "python_version": "...",       # Python's str.lower() and \\w depend on its Unicode data
      "unicode_version": "...",
      "docs": ["...", ...],
      "tokens": [["...", ...], ...],  # the vectorizer's analyzer output, per doc, in order
      "vectors": [{"term": value, ...}, ...]
    }

Values are Python floats (float64) written with `repr`, i.e. full round-trip precision.
The documents are Latin script only: kindred deliberately differs from scikit-learn for CJK text
(character bigrams, see crates/core/src/text/tokenizer.rs), so CJK is not part of this fixture.
"""

import json
import platform
import unicodedata
from pathlib import Path

import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

DOCS = [
    "Stainless Steel Water Bottle 500ml",
    "Insulated water bottle, 750 ml, Stainless steel",
    "Café Crème Coffee Beans 1kg",
    "Crème Brûlée Kit with 4 ramekins",
    "Größe L T-Shirt, Baumwolle, weiß",
    "Herren T-Shirt Größe XL - schwarz",
    "Naïve Art Poster A3 - Café Scene",
    "Jalapeño Hot Sauce 2 pack",
    "Piña Colada Mix 3x 1L",
    "Smørrebrød Cookbook (Danish edition)",
    "Bøtte for is / ice bucket",
    "Façade Paint, white, 2.5L",
    "Garçon apron - ç is for crêpe",
    "USB_C cable 2m, usb_c to usb_c",
    "USB-C charger 65W GaN",
    "usb c hub 7-in-1",
    "Kid's rain boots, size 7",
    "Children’s wooden puzzle (3+ years)",
    "Men's shoes: a b c d e — size 42",
    "I ♥ NY mug, 11 oz",
    "The the THE tea tea Tea",
    "Green tea, green TEA, GREEN tea bags x 100",
    "Straße map of Köln & Düsseldorf",
    "Über-soft bath towel set (4 pcs)",
    "Señor Frog's hot sauce — jalapeño",
    "Brûlée torch + 2 butane refills",
    "Crêpe pan 24cm non-stick",
    "Paella pan 38 cm, acero",
    "Ålesund wool socks, 3-pack",
    "Æbleskiver pan, cast iron",
    "Fußball Größe 5",
    "ÉCLAIR mold 12-cavity, silicone",
    "Smart bulb E27 806lm 2700K-6500K",
    "4K HDMI 2.1 cable 3m, 48Gbps",
    "Bed sheet 140x200 cm, 100% cotton",
    "Floor area 20 m² rug",
    "Decomposed cafe\u0301 accent test",
    "Ønske: naïve café crème, 2x",
    "A / B",
    "Q-tips 500 count value pack pack pack",
    "Mädchen-Fahrrad 24 Zoll, grün",
    "Niño's first résumé notebook",
]


def main() -> None:
    vectorizer = TfidfVectorizer()
    matrix = vectorizer.fit_transform(DOCS)
    terms = vectorizer.get_feature_names_out()
    analyze = vectorizer.build_analyzer()

    vectors = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        vectors.append(
            {
                str(terms[col]): float(value)
                for col, value in zip(matrix.indices[start:end], matrix.data[start:end])
            }
        )

    fixture = {
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "unicode_version": unicodedata.unidata_version,
        "docs": DOCS,
        "tokens": [analyze(doc) for doc in DOCS],
        "vectors": vectors,
    }

    out = Path(__file__).resolve().parent.parent / "crates/core/tests/fixtures/tfidf_golden.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {out} ({len(DOCS)} docs, {len(terms)} terms, sklearn {sklearn.__version__})")


if __name__ == "__main__":
    main()
