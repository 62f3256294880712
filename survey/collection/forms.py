from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from questionnaires import Questionnaire

from survey.collection.models import QUOTA_ACCEPT, QUOTA_REFUSE
from survey.collection.procedures import MAX_CODE


class PointForm(FlaskForm):
    name = StringField("Tên điểm khảo sát", validators=[DataRequired("Vui lòng nhập tên điểm khảo sát."),
                                                        Length(max=255, message="Tên dài quá 255 ký tự.")])
    place = StringField("Địa chỉ, vị trí", validators=[Optional(), Length(max=255, message="Địa chỉ dài quá 255 ký tự.")])
    group_id = SelectField("Phiếu (nhóm đối tượng)", coerce=int)
    quota = IntegerField("Số phiếu dự kiến", validators=[Optional(), NumberRange(min=1, message="Số phiếu dự kiến phải lớn hơn 0.")])
    quota_policy = SelectField("Khi đã đủ số phiếu", choices=[
        SelectChoice(QUOTA_ACCEPT, "Vẫn nhận thêm (và cho biết đã đủ)"),
        SelectChoice(QUOTA_REFUSE, "Ngừng nhận, báo rõ cho người dân")])
    asks_dossier = BooleanField("Mỗi hồ sơ chỉ đánh giá một lần (người dân nhập mã hồ sơ)")


class ProceduresUploadForm(FlaskForm):
    file = FileField("Tệp danh mục thủ tục (.xlsx hoặc .csv)", validators=[FileRequired("Vui lòng chọn tệp.")])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class _Date(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Ngày không hợp lệ.") from None


class PaperBatchForm(FlaskForm):
    group_id = SelectField("Phiếu (nhóm đối tượng)", coerce=int)
    point_id = SelectField("Điểm khảo sát", coerce=int)  # 0: forms handed out elsewhere
    collected_on = _Date("Ngày thu phiếu", validators=[InputRequired("Vui lòng nhập ngày thu phiếu.")])
    team = StringField("Tổ khảo sát", validators=[Optional(), Length(max=255, message="Tên tổ dài quá 255 ký tự.")])


_FORM_NUMBER = Regexp(r"^\s*[0-9]{1,7}\s*$", message="Số phiếu là một số nguyên dương, tối đa 7 chữ số.")
_entry_forms: dict[tuple, type[FlaskForm]] = {}


def asks_procedure(questionnaire: Questionnaire) -> bool:
    """Citizens' forms name the procedure used, as at a collection point; officials' forms do not."""
    return questionnaire.survey == "sipas"


def entry_length_limit(question) -> int:
    """The most characters keyed for a question: a text answer, or option codes."""
    return (question.max_length or 1000) if question.kind == "text" else 40


def paper_form_class(questionnaire: Questionnaire, *, codes: tuple[str, ...] | None = None,
                     procedure: bool = False) -> type[FlaskForm]:
    """The keying form of a questionnaire version: the form number, the procedure, one short field per question.

    With ``codes``, the supervisor's form: only those questions, each required
    (a question left blank on the paper is typed as "-"), and the procedure
    only if ``procedure`` (the passes keyed different ones).
    """
    key = (questionnaire.content_hash, codes, procedure)
    form_class = _entry_forms.get(key)
    if form_class is None:
        fields: dict = {}
        if codes is None:
            fields["form_number"] = StringField("Số phiếu", validators=[
                InputRequired("Vui lòng nhập số phiếu (in ở góc trên phiếu)."), _FORM_NUMBER])
            fields["started"] = HiddenField()
        if (codes is None and asks_procedure(questionnaire)) or procedure:
            fields["procedure"] = StringField("Mã thủ tục", validators=[
                Length(max=MAX_CODE, message=f"Mã thủ tục dài quá {MAX_CODE} ký tự.")])
        for question in questionnaire.questions:
            if codes is None or question.code in codes:
                limit = entry_length_limit(question)
                fields[f"q_{question.code}"] = StringField(question.code, validators=[
                    Length(max=limit, message=f"Câu {question.code}: dài quá {limit} ký tự.")])
        form_class = _entry_forms[key] = type("PaperEntryForm", (FlaskForm,), fields)
    return form_class


def keyed_values(form: FlaskForm, questionnaire: Questionnaire) -> dict[str, str]:
    """What was typed for each question, by question code."""
    return {q.code: form[f"q_{q.code}"].data or "" for q in questionnaire.questions if f"q_{q.code}" in form}
