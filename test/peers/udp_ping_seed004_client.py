# client.py from seed 004 (part 1). Changes: no "Press any key" loop (one
# run), the server address from argv, and the echo is checked: every reply
# must be the request upper-cased, else exit 3. Output as the seed's.
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
print("-----")
print("Starting Ping")
print("-----\n")

mysocket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
server_address = (host, port)
mysocket.settimeout(1)
rtt = []
bad = 0
try:
    for i in range(1, 11):
        start = time.time()
        message = 'Ping ' + str(i) + " " + time.ctime(start)
        try:
            sent = mysocket.sendto(message.encode("utf-8"), server_address)
            print("Sent " + message)
            data, server = mysocket.recvfrom(4096)
            print("Received " + str(data))
            if data != message.upper().encode("utf-8"):
                print("Echo is not the upper-cased message")
                bad += 1
            end = time.time()
            elapsed = end - start
            print("Time: " + str(elapsed * 1000) + " Milliseconds\n")
            rtt.append(elapsed)
        except socket.timeout:
            print("#" + str(i) + " Requested Timed out\n")
finally:
    print("Finish ping, closing socket")
    print("-----")
    print("Statistics")
    if rtt:
        print("Average RTT: " + str(sum(rtt) / len(rtt) * 1000) + " Milliseconds")
        print("Max RTT: " + str(max(rtt) * 1000) + " Milliseconds")
        print("Min RTT: " + str(min(rtt) * 1000) + " Milliseconds")
        print("Packet Loss: " + str((10 - len(rtt)) * 10) + "%")
    else:
        print("Server Is Down: No packets received")
    print("-----")
    mysocket.close()
sys.exit(3 if bad else (0 if rtt else 1))
