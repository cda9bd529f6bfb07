"""The desk's CSAT ratings as Salesforce Feedback Management records.

Owns `feedback_records(desk)`: one `SurveyQuestion` pair (`csat`, a 1..5 rating
question, and `nps`, 0..10, so a reader must pick the configured question), a
`SurveyInvitation` per offered or answered rating, a `SurveyResponse` per answered one, two
`SurveyQuestionResponse` rows per response (`NumberValue`), and a `SurveySubject` linking the
case: its `ParentId` is the response for odd rating ids and the invitation for even ones (both
happen in real orgs). Feedback answers cannot be edited in Salesforce, yet a customer may
change a rating (good -> bad): the rows carry the final answer, dated by the first
(`CompletionDateTime` and `CreatedDate`; `LastModifiedDate`/`SystemModstamp` are the latest
answer's, so an incremental reader sees the change), one answer per survey as docs/metrics.md
"CSAT" counts it. Key prefixes are the simulator's own. With `versions=2` the survey was
edited once, as orgs do: its second version has a CSAT question of its own (same
`DeveloperName`, another Id, created when the version went live), which the newer half of
the answers are to.
"""

from __future__ import annotations

from sandbox.desk import Desk
from sandbox.salesforce import ids
from sandbox.salesforce.values import Record, sf_datetime, stamps, survey_score

QUESTION = "0Kq"
INVITATION = "0Ki"
RESPONSE = "0Kd"
QUESTION_RESPONSE = "0Kr"
SUBJECT = "0Ks"
CSAT_QUESTION_ID = ids.sf_id(QUESTION, 1)
NPS_QUESTION_ID = ids.sf_id(QUESTION, 2)
CSAT_V2_QUESTION_ID = ids.sf_id(QUESTION, 3)  # the CSAT question of the survey's version 2


def feedback_records(desk: Desk, versions: int = 1) -> dict[str, list[Record]]:
    created = min((r.created_at for r in desk.ratings.values()), default=desk.now)
    questions = [
        {"Id": CSAT_QUESTION_ID, "Name": "How satisfied were you?", "DeveloperName": "csat",
         "QuestionType": "Rating", **stamps(created, created)},
        {"Id": NPS_QUESTION_ID, "Name": "How likely are you to recommend us?",
         "DeveloperName": "nps", "QuestionType": "NPS", **stamps(created, created)},
    ]  # fmt: skip
    answered_at = sorted(r.created_at for r in desk.ratings.values())
    edited = answered_at[len(answered_at) // 2] if versions > 1 and answered_at else None
    if edited is not None:
        questions.append({**questions[0], "Id": CSAT_V2_QUESTION_ID, **stamps(edited, edited)})
    invitations: list[Record] = []
    responses: list[Record] = []
    answers: list[Record] = []
    subjects: list[Record] = []
    for rating in desk.ratings.values():
        invitation = ids.sf_id(INVITATION, rating.id)
        invitations.append(
            {"Id": invitation, "Name": f"INV-{rating.id % 10**8:08d}",
             **stamps(rating.created_at, rating.created_at)}
        )  # fmt: skip
        answered = rating.score in ("good", "bad")
        response = ids.sf_id(RESPONSE, rating.id)
        parent = response if answered and rating.id % 2 else invitation
        subjects.append(
            {"Id": ids.sf_id(SUBJECT, rating.id), "ParentId": parent,
             "SubjectId": ids.case_id(rating.ticket_id), "SubjectEntityType": "Case",
             **stamps(rating.created_at, rating.updated_at)}
        )  # fmt: skip
        if not answered:
            continue
        first, latest = rating.created_at, rating.updated_at  # created_at: the first answer
        responses.append(
            {"Id": response, "InvitationId": invitation, "Status": "Completed",
             "CompletionDateTime": sf_datetime(first), **stamps(first, latest)}
        )  # fmt: skip
        score = survey_score(rating)
        csat = CSAT_V2_QUESTION_ID if edited is not None and first >= edited else CSAT_QUESTION_ID
        for k, (question, value) in enumerate(((csat, score), (NPS_QUESTION_ID, 2 * score))):
            answers.append(
                {"Id": ids.sf_id(QUESTION_RESPONSE, rating.id * 2 + k), "ResponseId": response,
                 "InvitationId": invitation, "QuestionId": question,
                 "NumberValue": value, "Datatype": "Int", **stamps(first, latest)}
            )  # fmt: skip
    return {
        "SurveyQuestion": questions,
        "SurveyInvitation": invitations,
        "SurveyResponse": responses,
        "SurveyQuestionResponse": answers,
        "SurveySubject": subjects,
    }
