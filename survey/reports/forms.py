"""Staff forms of the reports area."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


class SelfAssessmentForm(FlaskForm):
    file = FileField("Tệp điểm", validators=[
        FileRequired("Chưa chọn tệp."),
        FileAllowed(["xlsx", "csv"], "Chỉ nhận tệp .xlsx hoặc .csv."),
    ])
