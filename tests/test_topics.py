"""Topics: section map, bundled classifier, pipeline behaviour, and a quality gate.

The pipeline runs inside real Scrapy crawler objects (`get_crawler`) with the bundled
sources config and the bundled model; nothing here needs /work/shared. The quality gate
classifies the labelled articles of the bundled snapshot sample, which
`scripts/train_topics.py` keeps out of training, so it measures unseen text.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.items import Article
from crawler.taxonomy import TOPIC_IDS
from pipelines.topic_model import BUNDLED_MODEL, ModelError, TopicModel, bundled_model, featurize
from pipelines.topics import DEFAULT_MIN_CONFIDENCE, TopicsPipeline

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
CORPUS_TO_TOPIC = {"crime_incidents": "incidents"}

# Pinned quality floors for the bundled model on the sample (never trained on). The model
# shipped at 0.91 accuracy / 0.89 macro-F1 there; a retrain that loses more than a few
# points, or a featurisation change that breaks serving, fails here.
ACCURACY_FLOOR = 0.88
MACRO_F1_FLOOR = 0.86
# Through the pipeline at the default threshold (section ignored, low-confidence articles
# filed under `other`): share of sample articles that end under their true topic, and the
# share set aside. The classifier decides: `other` stays rare (0.7% of the sample when
# shipped, 0.5% on the held-out split; the target there is at most 5%).
PIPELINE_CORRECT_FLOOR = 0.88
PIPELINE_OTHER_CEILING = 0.03

# Short texts written for these tests (not from the corpus), one per topic the model knows.
WRITTEN: list[tuple[str, str, str]] = [
    (
        "sports",
        "الرجاء يتعادل مع الوداد في ديربي الدار البيضاء",
        "انتهت مباراة الديربي بين الرجاء والوداد بالتعادل هدف لمثله برسم الدورة العاشرة من البطولة "
        "الاحترافية، وسجل مهاجم الرجاء هدف التقدم قبل أن يعادل لاعب الوداد في الشوط الثاني أمام "
        "جماهير الملعب. وقال مدرب الفريق إن اللاعبين قدموا مباراة كبيرة.",
    ),
    (
        "economy",
        "بنك المغرب يبقي سعر الفائدة الرئيسي دون تغيير",
        "قرر مجلس بنك المغرب الإبقاء على سعر الفائدة الرئيسي في مستواه الحالي، وتوقع أن يبلغ معدل "
        "التضخم نسبة اثنين في المائة، فيما سجل الدرهم ارتفاعا مقابل الأورو. وأشار البنك المركزي إلى "
        "تحسن الصادرات والاستثمارات وعائدات السياحة ونمو الناتج الداخلي الخام.",
    ),
    (
        "politics",
        "فريق المعارضة يسائل رئيس الحكومة في مجلس النواب",
        "وجه فريق حزب الأصالة والمعاصرة بمجلس النواب سؤالا إلى رئيس الحكومة حول حصيلة الأغلبية، "
        "وطالب الأمين العام للحزب بعقد جلسة عامة لمناقشة مشروع القانون التنظيمي للانتخابات قبل "
        "نهاية الدورة التشريعية، في حين دافع وزير العلاقات مع البرلمان عن أداء الحكومة.",
    ),
    (
        "incidents",
        "توقيف شخص متورط في السرقة بالعنف بمدينة طنجة",
        "تمكنت عناصر الشرطة القضائية بولاية أمن طنجة من توقيف شخص يبلغ من العمر 28 سنة، للاشتباه في "
        "تورطه في قضية السرقة بالعنف باستعمال السلاح الأبيض. وقد تم إخضاع المشتبه فيه للبحث القضائي "
        "تحت إشراف النيابة العامة المختصة.",
    ),
    (
        "society",
        "وزارة التربية الوطنية تعلن موعد الدخول المدرسي",
        "أعلنت وزارة التربية الوطنية عن موعد الدخول المدرسي للموسم الجديد، وأكدت أن التعليم الحضوري "
        "سيكون متاحا للتلاميذ الذين يختار آباؤهم وأولياء أمورهم هذه الصيغة، بينما تستمر الأسر في "
        "المطالبة بحماية الأطفال. وعبرت نقابات الأساتذة عن قلقها من الاكتظاظ داخل الأقسام.",
    ),
    (
        "regions",
        "مجلس جهة سوس ماسة يصادق على مشاريع تنموية بأكادير",
        "صادق مجلس جهة سوس ماسة خلال دورته العادية على اتفاقيات شراكة لتأهيل الطرق القروية وتزويد "
        "الدواوير بالماء الصالح للشرب بإقليم تارودانت وعمالة أكادير إداوتنان، وأكد رئيس المجلس أن "
        "هذه المشاريع تهم ساكنة الجماعات الترابية بالجهة.",
    ),
]


# Subjects the corpus has no examples of: the classifier must not be confident about them.
UNSEEN: list[tuple[str, str, str]] = [
    (
        "culture",
        "مهرجان السينما بمراكش يكرم مخرجا مغربيا",
        "افتتحت فعاليات المهرجان الدولي للفيلم بمراكش بتكريم المخرج والممثل، وعرض فيلم سينمائي جديد أمام "
        "جمهور من الفنانين والنقاد، كما قدمت فرقة موسيقية حفلا فنيا وغنت المطربة أغاني من ألبومها الجديد.",
    ),
    (
        "world",
        "الرئيس الأمريكي يلتقي المستشارة الألمانية في برلين",
        "التقى الرئيس الأمريكي المستشارة الألمانية في العاصمة برلين لبحث ملفات الحلف الأطلسي والعلاقات مع "
        "روسيا والصين، فيما تظاهر آلاف الفرنسيين في باريس ضد الحكومة الفرنسية.",
    ),
    (
        "religion",
        "المجلس العلمي يحدد مقدار زكاة الفطر",
        "حدد المجلس العلمي الأعلى مقدار زكاة الفطر لهذه السنة، ودعا الأئمة والخطباء في المساجد إلى التذكير "
        "بفضل الصيام وقيام الليل في شهر رمضان المبارك.",
    ),
    (
        "technology",
        "هاتف ذكي جديد بتقنية الذكاء الاصطناعي",
        "كشفت شركة التكنولوجيا عن هاتف ذكي جديد يعتمد على الذكاء الاصطناعي ومعالج أسرع وكاميرا بدقة عالية، "
        "إلى جانب تحديث لنظام التشغيل وتطبيقات الحوسبة السحابية.",
    ),
    (
        "health",
        "دراسة: النوم الجيد يقي من أمراض القلب",
        "كشفت دراسة طبية حديثة أن النوم لساعات كافية يقلل من خطر الإصابة بأمراض القلب والسكري، وأوصى "
        "الأطباء بممارسة الرياضة وتناول الخضر والفواكه.",
    ),
]


def crawler_with(**settings: Any) -> Crawler:
    return get_crawler(settings_dict={"TOPICS_MIN_CONFIDENCE": DEFAULT_MIN_CONFIDENCE, **settings})


def pipeline(**settings: Any) -> tuple[TopicsPipeline, Crawler]:
    crawler = crawler_with(**settings)
    return TopicsPipeline.from_crawler(crawler), crawler


def sample_records() -> list[dict[str, Any]]:
    assert SAMPLE.exists(), f"the bundled snapshot sample is missing: {SAMPLE}"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    out = []
    for r in rows:
        body = r.get("body") or "\n\n".join(r.get("paragraphs") or [])
        out.append({"title": r["title"], "body": body, "topic": CORPUS_TO_TOPIC.get(r["category"], r["category"])})
    return out


# --- the model ----------------------------------------------------------------------------


def test_bundled_model_is_small_and_predicts_only_taxonomy_topics() -> None:
    assert BUNDLED_MODEL.stat().st_size <= 2 * 1024 * 1024
    model = bundled_model()
    assert set(model.classes) == {"politics", "economy", "society", "sports", "regions", "incidents"}
    assert set(model.classes) <= TOPIC_IDS
    assert len(model) > 1000


@pytest.mark.parametrize(("topic", "title", "body"), WRITTEN, ids=[t for t, _, _ in WRITTEN])
def test_written_texts_get_their_topic(topic: str, title: str, body: str) -> None:
    pred = bundled_model().predict(title, body)
    assert pred.topic == topic, pred.probabilities
    assert 0.0 <= pred.confidence <= 1.0
    assert pred.confidence == max(pred.probabilities.values())
    assert math.isclose(sum(pred.probabilities.values()), 1.0, rel_tol=1e-9)


def test_text_without_known_words_has_low_confidence() -> None:
    pred = bundled_model().predict("zzqx qqvv", "xxyyzz wwqq")
    assert pred.confidence < DEFAULT_MIN_CONFIDENCE
    assert 0.0 <= pred.confidence <= 1.0


def test_featurize_normalises_with_the_shared_normaliser_and_folds_numbers() -> None:
    # Hamza, tashkeel and Arabic-Indic digits fold as crawler.arabic.normalize does.
    a = featurize("إصابة جديدة", "سجّل المغرب ١٢٣ إصابة")
    b = featurize("اصابه جديده", "سجل المغرب 98 اصابه")
    assert a == b
    words, chars = a["words"], a["chars"]
    assert words["<n>"] == 1 and words["اصابه جديده"] == 2  # headline bigram counts twice
    # in-word character grams, padded at the word's ends; none from numbers
    assert chars[" اص"] == 3 and chars["ابه "] == 3 and chars["مغرب"] == 1
    assert not any(ch.isdigit() or "<" in g for g in chars for ch in g)
    assert all(" " not in g.strip() for g in chars)  # grams never span two words


def test_fast_scoring_equals_scoring_the_shared_features() -> None:
    """`TopicModel.scores` gathers vocabulary rows directly, with a per-word cache; it must
    give what scoring `featurize`'s output (what training saw) gives."""
    model = bundled_model()
    texts = [(title, body) for _, title, body in WRITTEN + UNSEEN]
    texts += [(r["title"], r["body"]) for r in sample_records()[:40]]
    texts += [("", ""), ("عنوان فقط ١٢", None), (None, "نص بلا عنوان 2020 و 2021")]
    for title, body in texts:
        fast = model.scores(title, body)
        reference = model.scores_of_features(featurize(title, body))
        assert fast == pytest.approx(reference, abs=1e-9), title


def test_model_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        TopicModel.load(tmp_path / "missing.json.gz")
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as fh:
        json.dump({"format": "pickle/0"}, fh)
    with pytest.raises(ModelError, match="unknown topic model format"):
        TopicModel.load(bad)
    wrong = tmp_path / "wrong.json.gz"
    with gzip.open(wrong, "wt", encoding="utf-8") as fh:
        json.dump({"format": "akhbar-topics/2", "classes": ["cooking"], "bias": [0.0], "beta": 1.0,
                   "weight_scale": 1.0, "blocks": {"words": {"vocab": [], "idf": [], "weights": []},
                                                   "chars": {"vocab": [], "idf": [], "weights": []}}}, fh)
    with pytest.raises(ModelError, match="unknown topic ids"):
        TopicModel.load(wrong)
    short = tmp_path / "short.json.gz"
    with gzip.open(short, "wt", encoding="utf-8") as fh:
        json.dump({"format": "akhbar-topics/2", "classes": ["sports"], "bias": [0.0], "beta": 1.0,
                   "weight_scale": 1.0, "blocks": {"words": {"vocab": ["a"], "idf": [1.0], "weights": []},
                                                   "chars": {"vocab": [], "idf": [], "weights": []}}}, fh)
    with pytest.raises(ModelError, match="disagree in length"):
        TopicModel.load(short)
    with gzip.open(short, "wt", encoding="utf-8") as fh:
        json.dump({"format": "akhbar-topics/2", "classes": ["sports"], "bias": [0.0], "beta": 1.0}, fh)
    with pytest.raises(ModelError, match="lacks"):
        TopicModel.load(short)


# --- the quality gate -----------------------------------------------------------------------


def test_accuracy_gate_on_bundled_sample() -> None:
    rows = sample_records()
    assert len(rows) >= 100
    model = bundled_model()
    confusion: dict[str, Counter[str]] = {t: Counter() for t in model.classes}
    for r in rows:
        confusion[r["topic"]][model.predict(r["title"], r["body"]).topic] += 1
    accuracy = sum(confusion[t][t] for t in confusion) / len(rows)
    f1 = []
    for t in model.classes:
        tp = confusion[t][t]
        fp = sum(confusion[o][t] for o in model.classes if o != t)
        fn = sum(confusion[t].values()) - tp
        f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    macro_f1 = sum(f1) / len(f1)
    assert accuracy >= ACCURACY_FLOOR, (accuracy, confusion)
    assert macro_f1 >= MACRO_F1_FLOOR, (macro_f1, confusion)


def test_gate_articles_were_kept_out_of_training() -> None:
    """The gate means something only on unseen text: a rebuilt sample needs a retrain
    (`scripts/train_topics.py` excludes the sample's corpus articles and records them)."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        corpus_ids = {json.loads(line).get("corpus_id") for line in fh if line.strip()}
    corpus_ids.discard(None)
    assert corpus_ids, "sample records carry no corpus_id"
    missing = corpus_ids - set(bundled_model().meta.get("excluded_ids", []))
    assert not missing, f"{len(missing)} sample articles may have been trained on: retrain the topic model"


def test_pipeline_gate_on_bundled_sample() -> None:
    """End to end through the pipeline with no section: how many land where they belong,
    how many are set aside as `other`."""
    pipe, crawler = pipeline()
    rows = sample_records()
    correct = 0
    for i, r in enumerate(rows):
        art = Article(url=f"https://example.ma/{i}", source="hespress", title=r["title"], body_text=r["body"])
        pipe.process_item(art)
        correct += art.topic == r["topic"]
    stats = crawler.stats
    assert stats.get_value("topics/classifier", 0) + stats.get_value("topics/other", 0) == len(rows)
    assert stats.get_value("topics/section") is None
    assert correct / len(rows) >= PIPELINE_CORRECT_FLOOR
    assert stats.get_value("topics/other", 0) / len(rows) <= PIPELINE_OTHER_CEILING


# --- the pipeline ---------------------------------------------------------------------------


def test_registered_in_project_settings() -> None:
    from crawler import settings

    assert settings.ITEM_PIPELINES["pipelines.topics.TopicsPipeline"] == 300
    assert 0.0 <= settings.TOPICS_MIN_CONFIDENCE <= 1.0


@pytest.mark.parametrize(
    ("source", "section", "topic"),
    [
        ("hespress", "sport", "sports"),
        ("hespress", "هسبريس الرياضية", "sports"),
        ("hespress", "/faits-divers/", "incidents"),
        ("hibapress", "إقتصاد", "economy"),
        ("hibapress", "اقتصاد", "economy"),  # configured with hamza; compared normalised
        ("hibapress", "section-3", None),  # numeric ids are not names
        ("rue20", "الرئيسية › ميديا", "media"),
        ("le12", "ثقافة وفن", "culture"),
        ("belpresse", "سياسة, مجتمع", "society"),  # most specific (last) part wins
    ],
)
def test_section_map(source: str, section: str, topic: str | None) -> None:
    pipe, _ = pipeline()
    assert pipe.section_topic(source, section) == topic


def test_mapped_section_wins_with_confidence_one() -> None:
    pipe, crawler = pipeline()
    _, title, body = WRITTEN[0]  # a football report...
    art = Article(url="https://www.hespress.com/x-1.html", source="hespress", section_raw="economie",
                  title=title, body_text=body)
    out = pipe.process_item(art)
    assert out is art
    assert (art.topic, art.topic_confidence) == ("economy", 1.0)  # ...filed by the site under economy
    assert crawler.stats.get_value("topics/section") == 1
    assert crawler.stats.get_value("topics/topic/economy") == 1
    assert crawler.stats.get_value("topics/classifier") is None


def test_unmapped_section_goes_to_the_classifier() -> None:
    pipe, crawler = pipeline()
    topic, title, body = WRITTEN[3]
    art = Article(url="https://le12.ma/x", source="le12", section_raw="منوعات", title=title, body_text=body)
    pipe.process_item(art)
    expected = bundled_model().predict(title, body)
    assert art.topic == topic == expected.topic
    assert art.topic_confidence == pytest.approx(expected.confidence, abs=1e-4)
    assert DEFAULT_MIN_CONFIDENCE <= art.topic_confidence < 1.0
    assert crawler.stats.get_value("topics/classifier") == 1


@pytest.mark.parametrize("section", [None, ""])
def test_missing_section_goes_to_the_classifier(section: str | None) -> None:
    pipe, crawler = pipeline()
    topic, title, body = WRITTEN[1]
    art = Article(url="https://rue20.com/x", source="rue20", section_raw=section, title=title, body_text=body)
    pipe.process_item(art)
    assert art.topic == topic
    assert crawler.stats.get_value("topics/classifier") == 1


def test_source_missing_from_config_goes_to_the_classifier() -> None:
    pipe, _ = pipeline()
    topic, title, body = WRITTEN[2]
    art = Article(url="https://news.example/x", source="not-configured", section_raw="sport", title=title, body_text=body)
    pipe.process_item(art)
    assert art.topic == topic


def test_summary_stands_in_for_a_missing_body() -> None:
    pipe, _ = pipeline()
    topic, title, body = WRITTEN[0]
    art = Article(url="https://le12.ma/x", source="le12", title=title, summary=body)
    pipe.process_item(art)
    assert art.topic == topic


def test_below_threshold_is_other_with_the_classifier_confidence() -> None:
    pipe, crawler = pipeline(TOPICS_MIN_CONFIDENCE=1.0)
    _, title, body = WRITTEN[4]
    expected = bundled_model().predict(title, body)
    assert expected.confidence < 1.0
    art = Article(url="https://le12.ma/x", source="le12", title=title, body_text=body)
    pipe.process_item(art)
    assert art.topic == "other"
    assert art.topic_confidence == pytest.approx(expected.confidence, abs=1e-4)
    assert crawler.stats.get_value("topics/other") == 1
    assert crawler.stats.get_value("topics/topic/other") == 1
    assert crawler.stats.get_value("topics/classifier") is None


@pytest.mark.parametrize(("subject", "title", "body"), UNSEEN, ids=[t for t, _, _ in UNSEEN])
def test_subjects_the_model_never_saw_come_from_section_maps(subject: str, title: str, body: str) -> None:
    """The classifier knows six topics and decides among them: a culture or world report
    without a section lands under one of the six (or, with nothing it knows, `other`),
    never under a topic it was not trained on. Its own section files it right."""
    pipe, crawler = pipeline()
    art = Article(url="https://le12.ma/x", source="le12", title=title, body_text=body)
    pipe.process_item(art)
    assert art.topic in set(bundled_model().classes) | {"other"}
    assert art.topic != subject
    where = SECTION_OF.get(subject)
    if where is None:  # no configured site has such a section: its feed is never published
        assert all(subject not in source.sections.values() for source in pipe.sources.values())
        return
    source, section = where
    mapped = Article(url="https://x.ma/x", source=source, section_raw=section, title=title, body_text=body)
    pipe.process_item(mapped)
    assert (mapped.topic, mapped.topic_confidence) == (subject, 1.0)


# A configured section per topic outside the classifier's six (crawler/sources.toml).
SECTION_OF: dict[str, tuple[str, str]] = {
    "culture": ("hespress", "art-et-culture"),
    "world": ("le12", "دولي"),
    "religion": ("hibapress", "شؤون دينية"),
    "technology": ("hespress", "بيئة وعلوم"),
}


def test_no_text_and_no_section_is_other_with_zero_confidence() -> None:
    pipe, crawler = pipeline()
    art = Article(url="https://le12.ma/x", source="le12", title="  ", body_text=None)
    pipe.process_item(art)
    assert (art.topic, art.topic_confidence) == ("other", 0.0)
    assert crawler.stats.get_value("topics/other") == 1


def test_section_mapped_to_other_lets_a_confident_classifier_refine_it() -> None:
    pipe, crawler = pipeline()
    topic, title, body = WRITTEN[0]
    art = Article(url="https://ar.hibapress.com/x", source="hibapress", section_raw="متفرقات", title=title, body_text=body)
    pipe.process_item(art)
    assert art.topic == topic and art.topic_confidence < 1.0
    vague = Article(url="https://ar.hibapress.com/y", source="hibapress", section_raw="متفرقات", title="zzqx qqvv")
    pipe.process_item(vague)
    assert (vague.topic, vague.topic_confidence) == ("other", 1.0)
    assert crawler.stats.get_value("topics/classifier") == 1
    assert crawler.stats.get_value("topics/section") == 1


def test_section_mapped_to_other_is_final_when_refining_is_off() -> None:
    pipe, _ = pipeline(TOPICS_CLASSIFY_OTHER=False)
    _, title, body = WRITTEN[0]
    art = Article(url="https://ar.hibapress.com/x", source="hibapress", section_raw="متفرقات", title=title, body_text=body)
    pipe.process_item(art)
    assert (art.topic, art.topic_confidence) == ("other", 1.0)


def test_dict_items_are_handled_too() -> None:
    pipe, _ = pipeline()
    item = {"url": "https://www.hespress.com/x", "source": "hespress", "section_raw": "politique", "title": "t"}
    assert pipe.process_item(item) is item
    assert (item["topic"], item["topic_confidence"]) == ("politics", 1.0)


def test_bad_input_keeps_the_item_and_counts_the_error() -> None:
    pipe, crawler = pipeline()
    art = Article(url="https://le12.ma/x", source="le12", title="عنوان", body_text=["not", "text"])  # type: ignore[arg-type]
    assert pipe.process_item(art) is art
    assert (art.topic, art.topic_confidence) == ("other", 0.0)
    assert crawler.stats.get_value("topics/error") == 1


def test_broken_model_still_maps_sections(tmp_path: Path) -> None:
    broken = tmp_path / "topics.json.gz"
    broken.write_bytes(b"not gzip")
    pipe, crawler = pipeline(TOPICS_MODEL=str(broken))
    assert "cannot read" in crawler.stats.get_value("topics/model_error")
    mapped = Article(url="https://www.hespress.com/x", source="hespress", section_raw="sport", title="t")
    unmapped = Article(url="https://le12.ma/x", source="le12", title=WRITTEN[0][1], body_text=WRITTEN[0][2])
    pipe.process_item(mapped)
    pipe.process_item(unmapped)
    assert mapped.topic == "sports"
    assert (unmapped.topic, unmapped.topic_confidence) == ("other", 0.0)


def test_other_sources_file_is_honoured(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[sources.wpdemo]\nbase_url = "http://127.0.0.1:1"\n[sources.wpdemo.sections]\nsports = "sports"\n',
        encoding="utf-8",
    )
    pipe, _ = pipeline(AKHBAR_SOURCES=str(sources))
    assert pipe.section_topic("wpdemo", "sports") == "sports"
    assert pipe.section_topic("hespress", "sport") is None  # not in that file


def test_disabled_and_invalid_settings() -> None:
    with pytest.raises(NotConfigured):
        TopicsPipeline.from_crawler(crawler_with(TOPICS_ENABLED=False))
    with pytest.raises(ValueError, match="TOPICS_MIN_CONFIDENCE"):
        TopicsPipeline.from_crawler(crawler_with(TOPICS_MIN_CONFIDENCE=1.5))


# --- end to end -------------------------------------------------------------------------------


def test_snapshot_crawl_files_every_article_under_a_topic(tmp_path: Path) -> None:
    """The real spiders crawl two emulated sites through the project's pipelines: articles
    in configured sections keep the site's filing, those in sections the config does not
    know (LE12 منوعات, Zanqa 20 صحة) are classified."""
    import subprocess
    import sys

    from crawler.snapshot import SnapshotServer

    sites = ["le12", "rue20"]
    out = tmp_path / "out.jsonl"
    subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "crawl", "--snapshot", *sites,
         "-O", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    with SnapshotServer(sites=sites) as snap:
        truth = {(site, str(a["id"])): a for site in sites for a in snap.articles(site)}
    assert len(items) >= 90
    unmapped = []
    for it in items:
        assert it["topic"] in TOPIC_IDS
        assert 0.0 <= it["topic_confidence"] <= 1.0
        art = truth[(it["source"], str(it["site_article_id"]))]
        expected = CORPUS_TO_TOPIC.get(art["category"], art["category"])
        if art["section_mapped"]:
            assert (it["topic"], it["topic_confidence"]) == (expected, 1.0), it["url"]
        else:
            unmapped.append((it["topic"], it["topic_confidence"], expected))
    assert len(unmapped) >= 4
    assert all(conf < 1.0 for _, conf, _ in unmapped)
    assert all(topic in (expected, "other") for topic, _, expected in unmapped), unmapped
    assert sum(topic == expected for topic, _, expected in unmapped) >= len(unmapped) // 2


# --- feeds of topics ------------------------------------------------------------------------


def test_topic_feeds_are_published_only_for_topics_with_articles(tmp_path: Path) -> None:
    """A topic that only a section can give (video here) and topics nothing was filed under:
    no feed file and no OPML entry until an article is filed there."""
    from dataclasses import replace

    from crawler.archive import open_archive
    from feeds.query import publish
    from feeds.samples import fill_archive, sample_stories

    pipe, _ = pipeline()
    rows = sample_records()[:12]
    stories = sample_stories(len(rows) + 1)
    filed = []
    for r, s in zip(rows, stories):
        art = Article(url=s.url, source="le12", title=r["title"], body_text=r["body"])
        pipe.process_item(art)
        filed.append(replace(s, topic=art.topic))
    video = Article(url=stories[-1].url, source="hespress", section_raw="sawt-soura", title="t")
    pipe.process_item(video)
    archive = open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    try:
        fill_archive(archive, filed)
        publish(tmp_path, archive)
        topics = {s.topic for s in filed}
        assert "video" not in topics and len(topics) < len(TOPIC_IDS)
        published = {p.name[len("topic-"):-len(".rss")] for p in (tmp_path / "public/feeds").glob("topic-*.rss")}
        assert published == topics
        opml = (tmp_path / "public/feeds.opml").read_text(encoding="utf-8")
        assert {t for t in TOPIC_IDS if f"feeds/topic-{t}.rss" in opml} == topics
        # the first video article brings its feed and OPML entry
        fill_archive(archive, [replace(stories[-1], topic=video.topic)])
        report = publish(tmp_path, archive)
        assert video.topic == "video"
        assert "feeds/topic-video.rss" in report.written
        assert "feeds/topic-video.rss" in (tmp_path / "public/feeds.opml").read_text(encoding="utf-8")
    finally:
        archive.close()


def test_scores_do_not_change_when_the_word_cache_empties(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-word character-row cache is emptied when full, mid-article too: the words
    it already held come back, and the scores are the ones an ample cache gives."""
    import pipelines.topic_model as topic_model

    texts = [(r["title"], r["body"]) for r in sample_records()[:10]]
    texts += [("كلمة مجهولة تماما zzz", "qqq ١٢"), ("", "")]
    ample = [bundled_model().scores(t, b) for t, b in texts]
    monkeypatch.setattr(topic_model, "CHAR_CACHE_WORDS", 7)
    small = TopicModel.load()
    assert [small.scores(t, b) for t, b in texts] == ample
    assert len(small._char_cache) <= max(7, max(len(set(t.split() + b.split())) for t, b in texts))
