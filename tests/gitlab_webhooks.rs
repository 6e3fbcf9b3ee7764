//! What only GitLab's webhook door does, through the real router on a real
//! port with the queue checked in the store: on SQLite always, on
//! PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set. What both doors
//! do is in `doors.rs`.

mod support;

use reqwest::StatusCode;
use support::door::{Credential, Door};
use support::forge::Forge;
use support::store::on_each_backend;

#[tokio::test]
async fn the_event_uuid_stands_in_for_a_missing_idempotency_key() {
    on_each_backend(|url| async move {
        let door = Door::start(Forge::Gitlab, &url).await;
        for expected in [StatusCode::ACCEPTED, StatusCode::OK] {
            let request = door
                .request(
                    door.known_event(),
                    None,
                    &door.opened(),
                    &Credential::Current,
                )
                .header("x-gitlab-event-uuid", "uuid-1");
            let response = request.send().await.expect("the server answers");
            assert_eq!(response.status(), expected);
        }
        assert_eq!(door.queued().await, 1);
    })
    .await;
}
