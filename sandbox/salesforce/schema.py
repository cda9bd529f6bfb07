"""The simulated org's objects and their fields, as `describe` reports them.

Owns `OBJECTS` (object name -> field name -> Salesforce field type) and `describe(name)`.
The records face.py makes carry exactly these fields.
"""

from __future__ import annotations

from typing import Any

_STAMPS = {"CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime"}
# A field-history object's fields after its Id and the record it is the history of.
_FIELD_HISTORY = {
    "Field": "picklist",
    "DataType": "picklist",
    "OldValue": "anyType",
    "NewValue": "anyType",
    "IsDeleted": "boolean",
    "CreatedDate": "datetime",
}

OBJECTS: dict[str, dict[str, str]] = {
    "User": {
        "Id": "id",
        "Name": "string",
        "Email": "email",
        "Username": "string",
        "IsActive": "boolean",
        **_STAMPS,
    },
    "Group": {"Id": "id", "Name": "string", "Type": "picklist", **_STAMPS},
    "Contact": {
        "Id": "id",
        "Name": "string",
        "Email": "email",
        "IsDeleted": "boolean",
        **_STAMPS,
    },
    "Case": {
        "Id": "id",
        "CaseNumber": "string",
        "OwnerId": "reference",
        "Status": "picklist",
        "IsClosed": "boolean",
        "IsDeleted": "boolean",
        "ContactId": "reference",
        "SuppliedEmail": "email",
        "Origin": "picklist",
        "Subject": "string",
        "ClosedDate": "datetime",
        **_STAMPS,
    },
    "CaseHistory": {"Id": "id", "CaseId": "reference", **_FIELD_HISTORY},
    "CaseStatus": {
        "Id": "id",
        "MasterLabel": "string",
        "ApiName": "string",
        "IsClosed": "boolean",
        "IsDefault": "boolean",
        "SortOrder": "int",
    },
    "Case_Survey__c": {
        "Id": "id",
        "Name": "string",
        "Case__c": "reference",
        "Score__c": "double",
        "Comment__c": "textarea",
        "Responded_At__c": "datetime",
        # The same answer's day as a Date field (an org may keep only that): no time, no zone.
        "Responded_On__c": "date",
        "IsDeleted": "boolean",
        **_STAMPS,
    },
    # Its field history, when the org tracks Score__c (surveys.py)
    "Case_Survey__History": {"Id": "id", "ParentId": "reference", **_FIELD_HISTORY},
    # Feedback Management (feedback.py)
    "SurveyQuestion": {
        "Id": "id",
        "Name": "string",
        "DeveloperName": "string",
        "QuestionType": "picklist",
        **_STAMPS,
    },
    "SurveyInvitation": {"Id": "id", "Name": "string", **_STAMPS},
    "SurveyResponse": {
        "Id": "id",
        "InvitationId": "reference",
        "Status": "picklist",
        "CompletionDateTime": "datetime",
        **_STAMPS,
    },
    "SurveyQuestionResponse": {
        "Id": "id",
        "ResponseId": "reference",
        "InvitationId": "reference",
        "QuestionId": "reference",
        "NumberValue": "int",
        "Datatype": "picklist",
        **_STAMPS,
    },
    "SurveySubject": {
        "Id": "id",
        "ParentId": "reference",
        "SubjectId": "reference",
        "SubjectEntityType": "picklist",
        **_STAMPS,
    },
}

KEY_PREFIXES = {
    "User": "005",
    "Group": "00G",
    "Contact": "003",
    "Case": "500",
    "CaseHistory": "017",
    "CaseStatus": "01J",
    "Case_Survey__c": "a0S",
    "Case_Survey__History": "a0T",
    "SurveyQuestion": "0Kq",
    "SurveyInvitation": "0Ki",
    "SurveyResponse": "0Kd",
    "SurveyQuestionResponse": "0Kr",
    "SurveySubject": "0Ks",
}


def describe(name: str) -> dict[str, Any]:
    """The `sobjects/{name}/describe` body (the parts a connector reads)."""
    return {
        "name": name,
        "label": name.removesuffix("__c").replace("_", " "),
        "custom": name.endswith("__c"),
        "keyPrefix": KEY_PREFIXES[name],
        "queryable": True,
        "replicateable": name not in ("CaseStatus",),
        "fields": [
            {
                "name": field,
                "type": kind,
                "label": field.removesuffix("__c").replace("_", " "),
                "custom": field.endswith("__c"),
                "nillable": kind not in ("id", "boolean"),
                "referenceTo": _reference_to(name, field) if kind == "reference" else [],
            }
            for field, kind in OBJECTS[name].items()
        ],
    }


def _reference_to(name: str, field: str) -> list[str]:
    if name == "Case_Survey__History":
        return ["Case_Survey__c"]
    return {
        "OwnerId": ["Group", "User"],
        "ContactId": ["Contact"],
        "CaseId": ["Case"],
        "Case__c": ["Case"],
        "InvitationId": ["SurveyInvitation"],
        "ResponseId": ["SurveyResponse"],
        "QuestionId": ["SurveyQuestion"],
        "ParentId": ["SurveyInvitation", "SurveyResponse"],
        "SubjectId": ["Case"],
    }[field]
