"""Issue 16, pure rules: PDF display clean-up, real sentences, question shapes, relevance, follow-ups,
list numbers in answers."""

from __future__ import annotations

from rag.answer.citations import parse_markers
from rag.answer.extractive import idf_overlap
from rag.answer.followups import rewrite
from rag.answer.questions import DATE, DEFINITION, NUMBER, analyse, defines
from rag.answer.relevance import LOW_NOTE, assess_relevance
from rag.answer.sentence_text import clean_display, is_sentence, trim_lead_in
from rag.core.text import content_words
from rag.core.types import Answer, Relevance


def test_pdf_text_is_cleaned_for_display():
    assert clean_display("Chain of Thought (CoT) 9 prompting is a technique") == (
        "Chain of Thought (CoT) prompting is a technique"
    )
    assert clean_display("Step-back8 prompting is a technique") == "Step-back prompting is a technique"
    assert clean_display("Tree of Thoughts (ToT).12 It generalizes") == "Tree of Thoughts (ToT). It generalizes"
    assert clean_display("the Gemini chatbot,1 you basically") == "the Gemini chatbot, you basically"
    assert clean_display("Reason and act (ReAct) [10]13 prompting") == "Reason and act (ReAct) prompting"
    assert clean_display("the infor-\nmation and infor- mation") == "the information and information"
    assert clean_display("first- and\tsecond-order   effects") == "first- and second-order effects"
    # Real numbers stay.
    assert clean_display("a temperature of .2, top-P of .95 and 9 planets") == (
        "a temperature of .2, top-P of .95 and 9 planets"
    )
    assert clean_display("COVID-19 patients and H1N1") == "COVID-19 patients and H1N1"


def test_lead_in_lines_are_trimmed():
    text = (
        "Prompt Engineering\nSeptember 2024\n29\nChain of Thought (CoT)\n"
        "Chain of Thought (CoT) 9 prompting is a technique for improving the reasoning capabilities\n"
        "of LLMs by generating intermediate reasoning steps."
    )
    start = trim_lead_in(text, 0, len(text))
    assert text[start:].startswith("Chain of Thought (CoT) 9 prompting is")
    caption = "An example of chain of thought prompting with a single-shot\nChain of thought can be useful."
    assert caption[trim_lead_in(caption, 0, len(caption)) :] == "Chain of thought can be useful."
    wrapped = "The capital of France\nis Paris."
    assert trim_lead_in(wrapped, 0, len(wrapped)) == 0  # a wrapped sentence is not a heading


def test_real_sentences_only():
    for text in (
        "1.",
        "2)",
        "• Step-back prompting",
        "Table 12.",
        "Step-back prompting",
        "Figure 1. A visualization of chain of thought prompting on the left versus.",
    ):
        assert not is_sentence(text), text
    for text in (
        "Alright, now the final answer is correct.",
        "It is 330 metres tall.",
        "Temperature controls the degree of randomness in token selection.",
        "세종대왕은 조선의 제4대 국왕이다.",
    ):
        assert is_sentence(text), text
    assert not is_sentence("The table format as used below is a great way of documenting prom", truncated=True)


def test_question_shapes():
    cot = analyse("What is chain of thought prompting?")
    assert cot.kind == DEFINITION and cot.focus_words == {"chain", "thought", "prompt"}
    assert defines("Chain of Thought (CoT) prompting is a technique for improving reasoning.", cot)
    assert not defines("An example of Chain of Thought prompting Alright, now the final answer is correct.", cot)
    assert analyse("체인 오브 소트란 무엇인가?").kind == DEFINITION
    assert defines("인공지능은 인간의 지능을 흉내 내는 기술이다.", analyse("인공지능은 무엇인가요?"))
    assert analyse("When was the Eiffel Tower built?").kind == DATE
    assert analyse("에펠탑은 언제 지어졌나요?").kind == DATE
    assert analyse("How many moons does Mars have?").kind == NUMBER
    assert analyse("서울의 인구는 얼마인가요?").kind == NUMBER


def test_relevance_beside_faithfulness():
    question = "What is chain of thought prompting?"
    captions = (
        "An example of Chain of Thought prompting Alright, now the final answer is correct [2]. "
        "A visualization of chain of thought prompting on the left versus [3]."
    )
    definition = (
        "Chain of Thought (CoT) prompting is a technique for improving the reasoning capabilities of LLMs "
        "by generating intermediate reasoning steps [1]."
    )
    good, weak = assess_relevance(question, definition), assess_relevance(question, captions)
    assert good.band == "high" and weak.band != "high" and good.score > weak.score
    off = assess_relevance("Who won the 2018 World Cup?", "Photosynthesis converts light into energy [1].")
    assert off.band == "low" and off.note == LOW_NOTE
    assert assess_relevance(question, "The documents do not say.") is None
    answer = Answer(question, question, definition, mode="extractive", relevance=good)
    as_json = answer.to_dict()
    assert as_json["relevance"]["band"] == "high" and {"answer", "citations", "sources", "mode"} <= set(as_json)
    assert Answer(question, question, "x", mode="llm").to_dict()["relevance"] is None
    assert isinstance(good, Relevance)


def test_follow_ups_keep_the_new_intent():
    factual = "What temperature should I use for factual tasks?"
    assert rewrite("and for creative ones?", factual) == "What temperature should I use for creative tasks?"
    assert rewrite("What about for creative tasks?", factual) == "What temperature should I use for creative tasks?"
    assert rewrite("what about Mars?", "How far is Venus from the Sun?") == "How far is Mars from the Sun?"
    assert rewrite("How tall is it?", "When was the Eiffel Tower built?") == "How tall is the Eiffel Tower?"
    assert rewrite("What is ReAct?", "What is chain of thought prompting?") == "What is ReAct?"
    ko = "사실적인 작업에는 어떤 온도를 써야 하나요?"
    assert rewrite("그럼 창의적인 작업에는?", ko) == "창의적인 작업에는 어떤 온도를 써야 하나요?"
    assert rewrite("그럼 서울은?", "부산의 인구는 얼마인가요?") == "서울의 인구는 얼마인가요?"
    assert rewrite("그럼 그것은 언제 지어졌나요?", "에펠탑의 높이는 얼마인가요?") == "에펠탑은 언제 지어졌나요?"
    assert rewrite("Which pigment absorbs red light?", factual) == "Which pigment absorbs red light?"


def test_list_numbers_are_not_claims():
    sentences, _ = parse_markers("Steps: 1. Find the cause [1]. 2. Fix it [2].", 2)
    assert [s.text for s in sentences] == ["Steps:", "1. Find the cause.", "2. Fix it."]
    assert [s.markers for s in sentences] == [(), (1,), (2,)]
    sentences, _ = parse_markers("Do this:\n\n1.\nFind the cause [1].\n\n2.\nFix it [2].", 2)
    assert [s.text for s in sentences] == ["Do this:", "1. Find the cause.", "2. Fix it."]
    assert [s.text for s in parse_markers("Paris is big [1]. 2.", 1)[0]] == ["Paris is big."]
    assert [s.text for s in parse_markers("The crew was 3. They returned [1].", 1)[0]] == [
        "The crew was 3.",
        "They returned.",
    ]


def test_rare_question_words_weigh_more_than_common_ones():
    sentences = [content_words(t) for t in (
        "The virus spread quickly.", "The virus infects cells.", "The virus incubation lasts five days.",
        "Nothing here.",
    )]  # fmt: skip
    question = content_words("How long is the virus incubation?")
    shares = idf_overlap(question, sentences)
    assert shares[3] == 0.0 and all(0.0 <= s <= 1.0 for s in shares)
    assert shares[2] == max(shares) and shares[0] == shares[1] < shares[2]
    # "incubation" (one sentence) outweighs "virus" (three): the plain share would call them equal halves.
    only_rare = idf_overlap(content_words("incubation"), sentences)[2]
    assert shares[2] - shares[0] > shares[0] and only_rare == 1.0
    assert idf_overlap(set(), sentences) == [0.0] * 4 and idf_overlap(question, []) == []
