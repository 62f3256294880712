"""The respondent roster (danh sách đối tượng) of a round."""
