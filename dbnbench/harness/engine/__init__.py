"""The parent's side of a run: plan its rounds, hand cases to workers, merge their answers
into one result (runner, schedule, merge), keep the journal a resumed run reads, and judge
each case against its round's roof (roofline, findings)."""
